"""Scales the pixels to [-1, 1] (Rescaling(1/127.5, offset=-1)) instead of Rescaling(1/255).

loses: build_cnn_maps_raw_pixels_to_probabilities
"""
def build_cnn(input_shape=(32, 32, 3), n_classes=10):
    """A convolutional classifier of raw-pixel images (not compiled)."""
    if len(tuple(input_shape)) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), not {input_shape}")
    inputs = keras.Input(tuple(input_shape))
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)
