"""A plain network of the same depth: conv-BN-ReLU pairs without any shortcut.

loses: build_resnet_parameter_count, build_resnet_has_nine_residual_additions, build_resnet_downsamples_where_stages_begin
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
            for conv in range(2):
                stride = 2 if stage > 0 and block == 0 and conv == 0 else 1
                x = layers.Conv2D(base_filters * 2**stage, 3, strides=stride, padding="same", use_bias=False)(
                    x
                )
                x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(x))
