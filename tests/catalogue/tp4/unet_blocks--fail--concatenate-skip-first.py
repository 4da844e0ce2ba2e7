"""Concatenates [skip, up] instead of [up, skip].

loses: decoder_block_concatenates_the_skip_on_channels
"""
def conv_block(x, filters):
    """Two 3x3 'same' convolutions with ReLU."""
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(filters, 3, padding="same", activation="relu")(x)


def encoder_block(x, filters):
    """``(skip, down)``: the block's features at the input's resolution, and max-pooled by 2."""
    skip = conv_block(x, filters)
    return skip, layers.MaxPooling2D(2)(skip)


def decoder_block(x, skip, filters):
    """Up-sample ``x`` by 2, concatenate ``skip``, then a conv block."""
    up = layers.Conv2DTranspose(filters, 2, strides=2)(x)
    return conv_block(layers.Concatenate()([skip, up]), filters)
