"""Compares the activations themselves in the style loss, not their Gram matrices.

loses: style_loss_weighs_the_layers, style_loss_default_weights_and_bad_input
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
    layer_weights = layer_weights or [1 / len(style_features)] * len(style_features)
    if len(layer_weights) != len(style_features):
        raise ValueError("one weight per layer")
    return sum(w * content_loss(s, g) for w, s, g in zip(layer_weights, style_features, generated_features))


def total_variation_loss(images):
    if len(images.shape) != 4:
        raise ValueError("images should be (batch, H, W, C)")
    images = keras.ops.cast(images, "float32")
    return keras.ops.mean(keras.ops.square(images[:, 1:] - images[:, :-1])) + keras.ops.mean(
        keras.ops.square(images[:, :, 1:] - images[:, :, :-1])
    )
