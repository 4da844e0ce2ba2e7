"""Ignores n_classes: always two outputs.

loses: build_conv3d_net_honours_its_arguments
"""


def build_conv3d_net(input_shape=(32, 32, 32, 1), n_classes=2):
    if len(input_shape) != 4:
        raise ValueError(f"bad input shape {input_shape}")
    inputs = keras.Input(input_shape)
    x = inputs
    for filters in (8, 16):
        x = layers.Conv3D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling3D(2)(x)
    x = layers.GlobalAveragePooling3D()(x)
    return keras.Model(inputs, layers.Dense(2, activation="softmax")(x))
