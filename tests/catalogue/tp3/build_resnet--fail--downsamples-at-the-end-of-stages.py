"""Halves the resolution in the last block of each stage but the first, not in the first block of the next.

loses: build_resnet_parameter_count, build_resnet_downsamples_where_stages_begin
"""


def build_resnet(input_shape=(32, 32, 3), n_classes=10, blocks_per_stage=3, base_filters=16):
    if len(input_shape) != 3:
        raise ValueError(f"input_shape should be (height, width, channels), not {input_shape}")
    inputs = keras.Input(input_shape)
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.ReLU()(
        layers.BatchNormalization()(layers.Conv2D(base_filters, 3, padding="same", use_bias=False)(x))
    )
    for stage in range(3):
        for block in range(blocks_per_stage):
            stride = 2 if stage < 2 and block == blocks_per_stage - 1 else 1
            x = residual_block(x, base_filters * 2**stage, stride)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(x))
