"""One optimisation step compiled with tf.function, the clipping with keras.ops."""


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
    content_image = np.asarray(content_image, dtype="float32")
    style_image = np.asarray(style_image, dtype="float32")
    for picture in (content_image, style_image):
        if picture.ndim != 3 or picture.shape[-1] != 3 or picture.shape[0] < 32 or picture.shape[1] < 32:
            raise ValueError(f"images must be (H >= 32, W >= 32, 3), got {picture.shape}")
    preprocess = keras.applications.vgg16.preprocess_input
    *style_targets, _ = extractor(preprocess(style_image[None].copy()))
    content_target = extractor(preprocess(content_image[None].copy()))[-1]
    image = tf.Variable(content_image[None])
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            *style_now, content_now = extractor(preprocess(image))
            loss = content_weight * content_loss(content_target, content_now)
            loss += style_weight * style_loss(style_targets, style_now, style_layer_weights)
            loss += tv_weight * total_variation_loss(image)
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(keras.ops.clip(image, 0.0, 255.0))
        return loss

    losses = [float(step()) for _ in range(steps)]
    return image.numpy()[0], losses
