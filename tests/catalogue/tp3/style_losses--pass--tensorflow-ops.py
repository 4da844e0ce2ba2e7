"""The three losses with TensorFlow's own operations."""


def content_loss(content_features, generated_features):
    if content_features.shape != generated_features.shape:
        raise ValueError(f"shapes differ: {content_features.shape} vs {generated_features.shape}")
    return tf.reduce_mean(
        tf.square(tf.cast(generated_features, tf.float32) - tf.cast(content_features, tf.float32))
    )


def style_loss(style_features, generated_features, layer_weights=None):
    count = len(style_features)
    if len(generated_features) != count:
        raise ValueError("style and generated activations differ in number")
    weights = [1.0 / count] * count if layer_weights is None else list(layer_weights)
    if len(weights) != count:
        raise ValueError("one weight per style layer is needed")
    terms = [
        weight * tf.reduce_mean(tf.square(gram_matrix(generated) - gram_matrix(style)))
        for weight, style, generated in zip(weights, style_features, generated_features)
    ]
    return tf.add_n(terms)


def total_variation_loss(images):
    if images.shape.rank != 4 if hasattr(images.shape, "rank") else len(images.shape) != 4:
        raise ValueError("a batch of images (batch, H, W, C) is needed")
    images = tf.cast(images, tf.float32)
    down = images[:, 1:, :, :] - images[:, :-1, :, :]
    across = images[:, :, 1:, :] - images[:, :, :-1, :]
    return tf.reduce_mean(down**2) + tf.reduce_mean(across**2)
