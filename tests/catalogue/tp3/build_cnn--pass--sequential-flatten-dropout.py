"""A Sequential network: conv pairs, flattening, a dense layer with dropout."""


def build_cnn(input_shape=(32, 32, 3), n_classes=10):
    if len(input_shape) != 3:
        raise ValueError(f"expected (height, width, channels), got {input_shape}")
    model = keras.Sequential([keras.Input(input_shape), layers.Rescaling(1.0 / 255.0)])
    for filters in (16, 32):
        model.add(layers.Conv2D(filters, 3, padding="same", activation="relu"))
        model.add(layers.Conv2D(filters, 3, padding="same", activation="relu"))
        model.add(layers.MaxPooling2D())
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dropout(0.3))
    model.add(layers.Dense(n_classes, activation="softmax"))
    return model
