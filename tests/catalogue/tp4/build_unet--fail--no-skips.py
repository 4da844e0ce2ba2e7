"""A plain encoder-decoder: the decoder never sees the encoder's maps.

loses: build_unet_parameter_count, build_unet_skips_join_the_encoder_at_each_level, build_unet_computes_the_specified_network
"""


def build_unet(input_shape=(128, 128, 1), n_classes=1, base_filters=16, depth=4):
    if len(input_shape) != 3 or any(side % 2**depth for side in input_shape[:2]):
        raise ValueError(f"bad input shape {input_shape}")
    inputs = keras.Input(input_shape)
    x = inputs
    for level in range(depth):
        _, x = encoder_block(x, base_filters * 2**level)
    x = conv_block(x, base_filters * 2**depth)
    for level in reversed(range(depth)):
        x = layers.Conv2DTranspose(base_filters * 2**level, 2, strides=2)(x)
        x = conv_block(x, base_filters * 2**level)
    activation = "sigmoid" if n_classes == 1 else "softmax"
    return keras.Model(inputs, layers.Conv2D(n_classes, 1, activation=activation)(x))
