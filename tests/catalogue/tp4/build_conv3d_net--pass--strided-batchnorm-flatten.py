"""Shrinks with strided convolutions, normalises batches, and flattens before the head."""


def build_conv3d_net(input_shape=(32, 32, 32, 1), n_classes=2):
    if len(input_shape) != 4:
        raise ValueError("expected (depth, height, width, channels)")
    model = keras.Sequential([keras.Input(input_shape)])
    for filters in (8, 16):
        model.add(layers.Conv3D(filters, 3, strides=2, padding="same", use_bias=False))
        model.add(layers.BatchNormalization())
        model.add(layers.ReLU())
    model.add(layers.Flatten())
    model.add(layers.Dropout(0.2))
    model.add(layers.Dense(n_classes, activation="softmax"))
    return model
