"""Checks only that height and width are at least 4, so it accepts sizes such as 6 or 30 that cannot be halved twice.

loses: build_resnet_outputs_class_probabilities
"""
def build_resnet(input_shape=(32, 32, 3), n_classes=10, blocks_per_stage=3, base_filters=16):
    """A CIFAR ResNet: a stem, three stages of residual blocks, global pooling, softmax."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), not {input_shape}")
    if input_shape[0] < 4 or input_shape[1] < 4:
        raise ValueError(f"height and width must be halved twice, not {input_shape}")
    inputs = keras.Input(input_shape)
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(base_filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for stage, filters in enumerate((base_filters, 2 * base_filters, 4 * base_filters)):
        for block in range(blocks_per_stage):
            x = residual_block(x, filters, stride=2 if stage > 0 and block == 0 else 1)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)
