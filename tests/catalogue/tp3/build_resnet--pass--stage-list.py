"""Lists the stages' filters and strides first, then builds them."""


def build_resnet(input_shape=(32, 32, 3), n_classes=10, blocks_per_stage=3, base_filters=16):
    if len(input_shape) != 3 or input_shape[0] % 4 or input_shape[1] % 4:
        raise ValueError(f"cannot build a ResNet for images of shape {input_shape}")
    stages = [(base_filters, 1), (2 * base_filters, 2), (4 * base_filters, 2)]
    inputs = keras.Input(shape=input_shape)
    x = layers.Rescaling(scale=1.0 / 255.0)(inputs)
    x = layers.Conv2D(base_filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    for filters, first_stride in stages:
        x = residual_block(x, filters, first_stride)
        for _ in range(blocks_per_stage - 1):
            x = residual_block(x, filters)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(x))
