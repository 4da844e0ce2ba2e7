"""Uses a sigmoid for n_classes <= 2 (softmax only from 3 classes), not only for one class.

loses: build_unet_shapes_and_output_activation
"""
def build_unet(input_shape=(128, 128, 1), n_classes=1, base_filters=16, depth=4):
    """A U-Net of ``depth`` levels (not compiled)."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), not {input_shape}")
    if input_shape[0] % 2**depth or input_shape[1] % 2**depth:
        raise ValueError(f"height and width must be halved {depth} times, not {input_shape}")
    inputs = keras.Input(input_shape)
    x, skips = inputs, []
    for level in range(depth):
        skip, x = encoder_block(x, base_filters * 2**level)
        skips.append(skip)
    x = conv_block(x, base_filters * 2**depth)
    for level in reversed(range(depth)):
        x = decoder_block(x, skips[level], base_filters * 2**level)
    activation = "sigmoid" if n_classes <= 2 else "softmax"
    outputs = layers.Conv2D(n_classes, 1, activation=activation)(x)
    return keras.Model(inputs, outputs)
