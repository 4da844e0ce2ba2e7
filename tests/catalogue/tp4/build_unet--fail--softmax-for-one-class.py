"""Always ends with a softmax: with one class, every pixel gets probability 1.

loses: build_unet_shapes_and_output_activation, build_unet_computes_the_specified_network
"""


def build_unet(input_shape=(128, 128, 1), n_classes=1, base_filters=16, depth=4):
    if len(input_shape) != 3 or any(side % 2**depth for side in input_shape[:2]):
        raise ValueError(f"bad input shape {input_shape}")
    inputs = keras.Input(input_shape)
    x, skips = inputs, []
    for level in range(depth):
        skip, x = encoder_block(x, base_filters * 2**level)
        skips.append(skip)
    x = conv_block(x, base_filters * 2**depth)
    for level in reversed(range(depth)):
        x = decoder_block(x, skips[level], base_filters * 2**level)
    return keras.Model(inputs, layers.Conv2D(n_classes, 1, activation="softmax")(x))
