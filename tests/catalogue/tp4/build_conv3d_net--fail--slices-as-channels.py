"""Folds the depth into the channels and convolves in 2D: a tube across the slices is never seen as one.

loses: build_conv3d_net_convolves_in_3d
"""


def build_conv3d_net(input_shape=(32, 32, 32, 1), n_classes=2):
    if len(input_shape) != 4:
        raise ValueError(f"bad input shape {input_shape}")
    inputs = keras.Input(input_shape)
    x = layers.Reshape(input_shape[:2] + (input_shape[2] * input_shape[3],))(inputs)
    for filters in (16, 32):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(x))
