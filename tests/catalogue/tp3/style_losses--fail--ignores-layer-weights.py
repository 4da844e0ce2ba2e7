"""The style loss averages the layers, whatever weights it is given.

loses: style_loss_weighs_the_layers
"""


def content_loss(content_features, generated_features):
    if tuple(content_features.shape) != tuple(generated_features.shape):
        raise ValueError("activations of different shapes")
    return keras.ops.mean(
        keras.ops.square(
            keras.ops.cast(generated_features, "float32") - keras.ops.cast(content_features, "float32")
        )
    )


def style_loss(style_features, generated_features, layer_weights=None):
    if len(style_features) != len(generated_features):
        raise ValueError("as many style activations as generated ones are needed")
    if layer_weights is not None and len(layer_weights) != len(style_features):
        raise ValueError("one weight per layer")
    losses = [
        keras.ops.mean(keras.ops.square(gram_matrix(g) - gram_matrix(s)))
        for s, g in zip(style_features, generated_features)
    ]
    return sum(losses) / len(losses)


def total_variation_loss(images):
    if len(images.shape) != 4:
        raise ValueError("images should be (batch, H, W, C)")
    images = keras.ops.cast(images, "float32")
    return keras.ops.mean(keras.ops.square(images[:, 1:] - images[:, :-1])) + keras.ops.mean(
        keras.ops.square(images[:, :, 1:] - images[:, :, :-1])
    )
