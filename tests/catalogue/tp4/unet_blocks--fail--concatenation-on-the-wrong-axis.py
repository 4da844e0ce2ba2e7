"""Concatenates the skip along the height (axis 1) instead of the channels: the maps stack up.

loses: decoder_block_shape_and_parameters, decoder_block_concatenates_the_skip_on_channels
"""


def conv_block(x, filters):
    for _ in range(2):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return x


def encoder_block(x, filters):
    skip = conv_block(x, filters)
    return skip, layers.MaxPooling2D(2)(skip)


def decoder_block(x, skip, filters):
    up = layers.Conv2DTranspose(filters, 2, strides=2)(x)
    return conv_block(layers.Concatenate(axis=1)([up, skip]), filters)
