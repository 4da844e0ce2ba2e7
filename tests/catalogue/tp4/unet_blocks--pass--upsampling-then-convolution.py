"""Up-samples by repeating pixels, then a 2x2 convolution (the spec allows it); ReLU as separate layers."""


def conv_block(x, filters):
    x = layers.Conv2D(filters, 3, padding="same")(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(filters, 3, padding="same")(x)
    return layers.Activation("relu")(x)


def encoder_block(x, filters):
    features = conv_block(x, filters)
    pooled = layers.MaxPooling2D(pool_size=(2, 2))(features)
    return features, pooled


def decoder_block(x, skip, filters):
    up = layers.UpSampling2D(2)(x)
    up = layers.Conv2D(filters, 2, padding="same")(up)
    return conv_block(layers.concatenate([up, skip], axis=-1), filters)
