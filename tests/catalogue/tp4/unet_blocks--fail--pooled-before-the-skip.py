"""Pools first and convolves after: the skip is at half the resolution and down is not its pooling.

loses: encoder_block_returns_the_skip_and_its_pooling
"""


def conv_block(x, filters):
    for _ in range(2):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return x


def encoder_block(x, filters):
    down = conv_block(layers.MaxPooling2D(2)(x), filters)
    return down, down


def decoder_block(x, skip, filters):
    up = layers.Conv2DTranspose(filters, 2, strides=2)(x)
    return conv_block(layers.Concatenate()([up, skip]), filters)
