"""Rescales the given layer_weights to sum to 1, instead of using them as given.

loses: style_loss_weighs_the_layers
"""
def content_loss(content_features, generated_features):
    """The mean squared difference of two activations of the same shape."""
    if tuple(content_features.shape) != tuple(generated_features.shape):
        raise ValueError("content and generated activations must have the same shape")
    return keras.ops.mean(keras.ops.square(keras.ops.convert_to_tensor(generated_features) - content_features))


def style_loss(style_features, generated_features, layer_weights=None):
    """The weighted sum over layers of the mean squared difference of the Gram matrices."""
    if len(style_features) != len(generated_features):
        raise ValueError("style and generated lists must have the same length")
    if layer_weights is None:
        layer_weights = [1.0] * len(style_features)
    if len(layer_weights) != len(style_features):
        raise ValueError("layer_weights must have one weight per layer")
    norm = float(sum(layer_weights))
    total = 0.0
    for w, s, g in zip(layer_weights, style_features, generated_features):
        total = total + (w / norm) * keras.ops.mean(keras.ops.square(gram_matrix(g) - gram_matrix(s)))
    return total


def total_variation_loss(images):
    """Mean squared difference of vertical neighbours plus that of horizontal neighbours."""
    if len(images.shape) != 4:
        raise ValueError(f"images must be (batch, H, W, C), not {images.shape}")
    images = keras.ops.convert_to_tensor(images)
    dv = images[:, 1:, :, :] - images[:, :-1, :, :]
    dh = images[:, :, 1:, :] - images[:, :, :-1, :]
    return keras.ops.mean(keras.ops.square(dv)) + keras.ops.mean(keras.ops.square(dh))
