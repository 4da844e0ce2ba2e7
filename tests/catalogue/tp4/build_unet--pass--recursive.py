"""Builds the levels recursively: each level wraps the one below it."""


def build_unet(input_shape=(128, 128, 1), n_classes=1, base_filters=16, depth=4):
    if len(input_shape) != 3:
        raise ValueError("input_shape must be (height, width, channels)")
    if input_shape[0] % 2**depth or input_shape[1] % 2**depth:
        raise ValueError(f"the sides must be multiples of {2**depth}")

    def level(x, number):
        filters = base_filters * 2**number
        if number == depth:
            return conv_block(x, filters)
        skip, down = encoder_block(x, filters)
        return decoder_block(level(down, number + 1), skip, filters)

    inputs = keras.Input(shape=input_shape)
    features = level(inputs, 0)
    head = layers.Conv2D(n_classes, 1, activation="softmax" if n_classes > 1 else "sigmoid")
    return keras.Model(inputs=inputs, outputs=head(features))
