"""Forgets the ReLU of the convolutions: the block is linear.

loses: conv_block_is_two_relu_convolutions, encoder_block_returns_the_skip_and_its_pooling
"""


def conv_block(x, filters):
    for _ in range(2):
        x = layers.Conv2D(filters, 3, padding="same")(x)
    return x


def encoder_block(x, filters):
    skip = conv_block(x, filters)
    return skip, layers.MaxPooling2D(2)(skip)


def decoder_block(x, skip, filters):
    up = layers.Conv2DTranspose(filters, 2, strides=2)(x)
    return conv_block(layers.Concatenate()([up, skip]), filters)
