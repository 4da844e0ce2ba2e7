"""style_layer_weights is never passed to style_loss: always equal weights.

loses: style_transfer_minimises_the_weighted_total
"""
def style_transfer(content_image, style_image, extractor, steps=100, learning_rate=5.0,
                   content_weight=1.0, style_weight=1e-3, tv_weight=1e-2, style_layer_weights=None):  # fmt: skip
    """Optimise an image (from the content image) for content, style and smoothness: (image, losses)."""
    for image in (content_image, style_image):
        shape = np.shape(image)
        if len(shape) != 3 or shape[-1] != 3 or shape[0] < 32 or shape[1] < 32:
            raise ValueError(f"images must be (height, width, 3) with sides of 32 pixels or more, not {shape}")
    pre = keras.applications.vgg16.preprocess_input
    content_target = extractor(pre(np.array(content_image, dtype="float32")[None]))[-1]
    style_targets = extractor(pre(np.array(style_image, dtype="float32")[None]))[:-1]
    image = tf.Variable(np.array(content_image, dtype="float32")[None])
    optimizer = keras.optimizers.Adam(learning_rate)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            outputs = extractor(pre(image * 1.0))
            loss = (content_weight * content_loss(content_target, outputs[-1])
                    + style_weight * style_loss(style_targets, outputs[:-1])
                    + tv_weight * total_variation_loss(image))
        losses.append(float(loss))
        grad = tape.gradient(loss, image)
        optimizer.apply([grad], [image])
        image.assign(tf.clip_by_value(image, 0.0, 255.0))
    return image.numpy()[0].astype("float32"), losses
