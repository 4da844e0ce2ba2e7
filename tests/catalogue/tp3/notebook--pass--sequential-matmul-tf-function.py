"""Sequential CNN of three double-conv stages with dropout, Activation layers, reshape+matmul Gram, tf ops losses, a tf.function training step.

Written from the student release alone.
"""
# %% build_cnn
def build_cnn(input_shape=(32, 32, 3), n_classes=10):
    """A convolutional classifier of raw-pixel images (not compiled)."""
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"the input shape must be (height, width, channels), got {input_shape!r}")
    model = keras.Sequential(name="cnn")
    model.add(keras.Input(shape=tuple(input_shape)))
    model.add(layers.Rescaling(1.0 / 255))
    for filters in (32, 64, 128):
        for _ in range(2):
            model.add(layers.Conv2D(filters, (3, 3), padding="same"))
            model.add(layers.BatchNormalization())
            model.add(layers.Activation("relu"))
        model.add(layers.MaxPooling2D(pool_size=2))
        model.add(layers.Dropout(0.2))
    model.add(layers.GlobalAveragePooling2D())
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dropout(0.3))
    model.add(layers.Dense(n_classes, activation="softmax"))
    return model


# %% residual_block
def residual_block(x, filters, stride=1):
    """The post-activation residual block: identity shortcut, or 1x1 projection + BN."""
    rank = len(x.shape)
    if rank != 4:
        raise ValueError(f"expected a rank-4 tensor (batch, height, width, channels), got rank {rank}")
    if stride != 1 and stride != 2:
        raise ValueError(f"the stride must be 1 or 2, got {stride!r}")
    identity = stride == 1 and x.shape[-1] == filters
    if identity:
        shortcut = x
    else:
        shortcut = layers.Conv2D(filters, (1, 1), strides=(stride, stride), use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    main = layers.Conv2D(filters, (3, 3), strides=(stride, stride), padding="same", use_bias=False)(x)
    main = layers.BatchNormalization()(main)
    main = layers.Activation("relu")(main)
    main = layers.Conv2D(filters, (3, 3), strides=(1, 1), padding="same", use_bias=False)(main)
    main = layers.BatchNormalization()(main)
    out = layers.Add()([shortcut, main])
    out = layers.Activation("relu")(out)
    return out


# %% build_resnet
def build_resnet(input_shape=(32, 32, 3), n_classes=10, blocks_per_stage=3, base_filters=16):
    """A CIFAR ResNet: a stem, three stages of residual blocks, global pooling, softmax."""
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"the input shape must be (height, width, channels), got {input_shape!r}")
    height, width, _ = input_shape
    if any(side is not None and (side < 4 or side % 4) for side in (height, width)):
        raise ValueError(f"height and width must be multiples of 4 to be halved twice, got {input_shape!r}")
    inputs = keras.Input(shape=tuple(input_shape))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(base_filters, (3, 3), padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    stages = [(base_filters, 1), (2 * base_filters, 2), (4 * base_filters, 2)]
    for filters, first_stride in stages:
        x = residual_block(x, filters, stride=first_stride)
        for _ in range(blocks_per_stage - 1):
            x = residual_block(x, filters, stride=1)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


# %% build_feature_extractor
def build_feature_extractor(style_layers, content_layer, weights="imagenet"):
    """A frozen VGG16 model returning [each style layer's activation..., the content layer's]."""
    vgg = keras.applications.VGG16(include_top=False, weights=weights)
    for layer in vgg.layers:
        layer.trainable = False
    outputs = []
    for name in [*style_layers, content_layer]:
        try:
            outputs.append(vgg.get_layer(name).output)
        except ValueError:
            raise ValueError(f"{name!r} is not a layer of VGG16") from None
    model = keras.Model(vgg.input, outputs)
    model.trainable = False
    return model


# %% gram_matrix
def gram_matrix(features):
    """(batch, H, W, C) activations -> (batch, C, C) Gram matrices, normalised by H * W."""
    features = tf.convert_to_tensor(features)
    if features.shape.rank != 4:
        raise ValueError(f"gram_matrix expects rank-4 features, got rank {features.shape.rank}")
    shape = tf.shape(features)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    flat = tf.reshape(features, (batch, height * width, channels))
    gram = tf.matmul(flat, flat, transpose_a=True)
    return gram / tf.cast(height * width, features.dtype)


# %% style_losses
def content_loss(content_features, generated_features):
    """The mean squared difference of two activations of the same shape."""
    content_features = tf.convert_to_tensor(content_features)
    generated_features = tf.convert_to_tensor(generated_features, dtype=content_features.dtype)
    if content_features.shape != generated_features.shape:
        raise ValueError(
            f"content and generated activations must have the same shape: "
            f"{content_features.shape} vs {generated_features.shape}"
        )
    return tf.reduce_mean(tf.square(content_features - generated_features))


def style_loss(style_features, generated_features, layer_weights=None):
    """The weighted sum over layers of the mean squared difference of the Gram matrices."""
    n_layers = len(style_features)
    if len(generated_features) != n_layers:
        raise ValueError(
            f"style and generated feature lists differ in length: {n_layers} vs {len(generated_features)}"
        )
    if n_layers == 0:
        raise ValueError("no style layers given")
    weights = [1.0 / n_layers] * n_layers if layer_weights is None else list(layer_weights)
    if len(weights) != n_layers:
        raise ValueError(f"layer_weights has {len(weights)} entries, expected {n_layers}")
    terms = []
    for w, s, g in zip(weights, style_features, generated_features):
        gs = gram_matrix(s)
        gg = gram_matrix(tf.convert_to_tensor(g, dtype=gs.dtype))
        terms.append(tf.cast(w, gs.dtype) * tf.reduce_mean(tf.square(gg - gs)))
    return tf.add_n(terms)


def total_variation_loss(images):
    """Mean squared difference of vertical neighbours plus that of horizontal neighbours."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(f"total_variation_loss expects a rank-4 image batch, got rank {images.shape.rank}")
    dy = images[:, 1:] - images[:, :-1]
    dx = images[:, :, 1:] - images[:, :, :-1]
    return tf.reduce_mean(dy**2) + tf.reduce_mean(dx**2)


# %% style_transfer
def style_transfer(content_image, style_image, extractor, steps=100, learning_rate=5.0,
                   content_weight=1.0, style_weight=1e-3, tv_weight=1e-2, style_layer_weights=None):  # fmt: skip
    """Optimise an image (from the content image) for content, style and smoothness: (image, losses)."""
    content_image = np.array(content_image, dtype="float32")
    style_image = np.array(style_image, dtype="float32")
    for image in (content_image, style_image):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"images must be (height, width, 3) arrays, got shape {image.shape}")
        if min(image.shape[:2]) < 32:
            raise ValueError(f"images must be at least 32 pixels on a side, got shape {image.shape}")

    def features_of(batch):
        return extractor(keras.applications.vgg16.preprocess_input(batch))

    content_outputs = features_of(tf.constant(content_image[np.newaxis]))
    style_outputs = features_of(tf.constant(style_image[np.newaxis]))
    content_target = content_outputs[-1]
    style_targets = list(style_outputs[:-1])

    generated = tf.Variable(content_image[np.newaxis])
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            outputs = features_of(generated)
            total = (
                content_weight * content_loss(content_target, outputs[-1])
                + style_weight * style_loss(style_targets, list(outputs[:-1]), style_layer_weights)
                + tv_weight * total_variation_loss(generated)
            )
        grads = tape.gradient(total, [generated])
        optimizer.apply_gradients(zip(grads, [generated]))
        generated.assign(keras.ops.clip(generated, 0.0, 255.0))
        return total

    losses = [float(step()) for _ in range(steps)]
    return generated.numpy()[0], losses
