"""Adds the skip to the up-sampled maps (as a ResNet would) instead of concatenating it.

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
    return conv_block(layers.Add()([up, skip]), filters)
