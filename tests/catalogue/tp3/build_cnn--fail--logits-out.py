"""Ends with a linear layer: logits, not probabilities.

loses: build_cnn_maps_raw_pixels_to_probabilities
"""


def build_cnn(input_shape=(32, 32, 3), n_classes=10):
    if len(input_shape) != 3:
        raise ValueError(f"input_shape should be (height, width, channels), not {input_shape}")
    inputs = keras.Input(input_shape)
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(n_classes)(x))
