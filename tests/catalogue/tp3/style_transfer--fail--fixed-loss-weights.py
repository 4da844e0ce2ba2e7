"""Ignores the weights it is given: always the defaults.

loses: style_transfer_minimises_the_weighted_total
"""


def style_transfer(
    content_image,
    style_image,
    extractor,
    steps=100,
    learning_rate=5.0,
    content_weight=1.0,
    style_weight=1e-3,
    tv_weight=1e-2,
    style_layer_weights=None,
):
    for picture in (content_image, style_image):
        shape = np.shape(picture)
        if len(shape) != 3 or shape[2] != 3 or min(shape[:2]) < 32:
            raise ValueError(f"an RGB image of at least 32x32 pixels is needed, not {shape}")
    preprocess = keras.applications.vgg16.preprocess_input
    style_targets = extractor(preprocess(np.array(style_image, "float32")[None]))[:-1]
    content_target = extractor(preprocess(np.array(content_image, "float32")[None]))[-1]
    image = tf.Variable(np.asarray(content_image, "float32")[None])
    optimizer = keras.optimizers.Adam(learning_rate)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            outputs = extractor(preprocess(image))
            loss = (content_loss(content_target, outputs[-1]) + 1e-3 * style_loss(style_targets, outputs[:-1])
                    + 1e-2 * total_variation_loss(image))  # fmt: skip
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 255.0))
        losses.append(float(loss))
    return image.numpy()[0], losses
