"""Functional CNN that downsamples with strided convolutions (no pooling), the `layers.add` helper, transpose+matmul Gram, stacked weighted style terms, `optimizer.apply`.

Written from the student release alone.
"""
# %% build_cnn
def conv_bn_relu(x, filters, strides=1):
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def build_cnn(input_shape=(32, 32, 3), n_classes=10):
    """A convolutional classifier of raw-pixel images (not compiled)."""
    try:
        height, width, channels = input_shape
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be (height, width, channels); got {input_shape!r}") from None
    inputs = keras.Input((height, width, channels))
    x = layers.Rescaling(1 / 255)(inputs)
    x = conv_bn_relu(x, 32)
    x = conv_bn_relu(x, 64, strides=2)   # 16x16
    x = conv_bn_relu(x, 64)
    x = conv_bn_relu(x, 128, strides=2)  # 8x8
    x = conv_bn_relu(x, 128)
    x = conv_bn_relu(x, 256, strides=2)  # 4x4
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


# %% residual_block
def residual_block(x, filters, stride=1):
    """The post-activation residual block: identity shortcut, or 1x1 projection + BN."""
    if len(x.shape) != 4:
        raise ValueError(f"residual_block takes (batch, height, width, channels) tensors, not shape {x.shape}")
    if stride not in (1, 2):
        raise ValueError(f"stride must be 1 or 2; got {stride!r}")
    needs_projection = stride != 1 or x.shape[-1] != filters
    shortcut = x
    if needs_projection:
        shortcut = layers.BatchNormalization()(
            layers.Conv2D(filters, kernel_size=1, strides=stride, use_bias=False)(x)
        )
    h = layers.Conv2D(filters, kernel_size=3, strides=stride, padding="same", use_bias=False)(x)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    h = layers.Conv2D(filters, kernel_size=3, strides=1, padding="same", use_bias=False)(h)
    h = layers.BatchNormalization()(h)
    return layers.ReLU()(layers.add([h, shortcut]))


# %% build_resnet
def build_resnet(input_shape=(32, 32, 3), n_classes=10, blocks_per_stage=3, base_filters=16):
    """A CIFAR ResNet: a stem, three stages of residual blocks, global pooling, softmax."""
    try:
        height, width, channels = input_shape
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be (height, width, channels); got {input_shape!r}") from None
    for side in (height, width):
        if side is not None and (side < 4 or side % 4):
            raise ValueError(f"a side of {side} pixels cannot be halved twice (input_shape {input_shape!r})")
    inputs = keras.Input((height, width, channels))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(base_filters, 3, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    filters = base_filters
    for stage in range(3):
        for block in range(blocks_per_stage):
            x = residual_block(x, filters, stride=2 if (block == 0 and stage > 0) else 1)
        filters *= 2
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(x), name="resnet20")


# %% build_feature_extractor
def build_feature_extractor(style_layers, content_layer, weights="imagenet"):
    """A frozen VGG16 model returning [each style layer's activation..., the content layer's]."""
    wanted = [*style_layers, content_layer]
    vgg = keras.applications.VGG16(include_top=False, weights=weights)
    known = {layer.name for layer in vgg.layers}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValueError(f"VGG16 has no layer(s) {', '.join(map(repr, unknown))}")
    model = keras.Model(vgg.input, [vgg.get_layer(name).output for name in wanted])
    model.trainable = False
    return model


# %% gram_matrix
def gram_matrix(features):
    """(batch, H, W, C) activations -> (batch, C, C) Gram matrices, normalised by H * W."""
    f = keras.ops.convert_to_tensor(features)
    if keras.ops.ndim(f) != 4:
        raise ValueError(f"gram_matrix needs (batch, H, W, C) features; got rank {keras.ops.ndim(f)}")
    batch, height, width, channels = keras.ops.shape(f)
    flat = keras.ops.reshape(f, (batch, height * width, channels))
    gram = keras.ops.matmul(keras.ops.transpose(flat, (0, 2, 1)), flat)
    return gram / keras.ops.cast(height * width, gram.dtype)


# %% style_losses
def content_loss(content_features, generated_features):
    """The mean squared difference of two activations of the same shape."""
    c = keras.ops.convert_to_tensor(content_features)
    g = keras.ops.convert_to_tensor(generated_features)
    if keras.ops.shape(c) != keras.ops.shape(g):
        raise ValueError(f"shapes differ: content {keras.ops.shape(c)}, generated {keras.ops.shape(g)}")
    return keras.ops.mean((g - c) ** 2)


def style_loss(style_features, generated_features, layer_weights=None):
    """The weighted sum over layers of the mean squared difference of the Gram matrices."""
    if len(style_features) != len(generated_features):
        raise ValueError(
            f"got {len(style_features)} style layers and {len(generated_features)} generated layers"
        )
    n = len(style_features)
    if n == 0:
        raise ValueError("style_loss needs at least one layer")
    if layer_weights is None:
        layer_weights = np.full(n, 1.0 / n)
    if len(layer_weights) != n:
        raise ValueError(f"layer_weights should have {n} entries, not {len(layer_weights)}")
    terms = keras.ops.stack(
        [keras.ops.mean((gram_matrix(g) - gram_matrix(s)) ** 2) for s, g in zip(style_features, generated_features)]
    )
    weights = keras.ops.cast(keras.ops.convert_to_tensor(np.asarray(layer_weights, dtype="float64")), terms.dtype)
    return keras.ops.sum(weights * terms)


def total_variation_loss(images):
    """Mean squared difference of vertical neighbours plus that of horizontal neighbours."""
    x = keras.ops.convert_to_tensor(images)
    if keras.ops.ndim(x) != 4:
        raise ValueError(f"total_variation_loss needs a (batch, H, W, C) image batch; got rank {keras.ops.ndim(x)}")
    vertical = keras.ops.mean(keras.ops.square(keras.ops.diff(x, axis=1)))
    horizontal = keras.ops.mean(keras.ops.square(keras.ops.diff(x, axis=2)))
    return vertical + horizontal


# %% style_transfer
def style_transfer(content_image, style_image, extractor, steps=100, learning_rate=5.0,
                   content_weight=1.0, style_weight=1e-3, tv_weight=1e-2, style_layer_weights=None):  # fmt: skip
    """Optimise an image (from the content image) for content, style and smoothness: (image, losses)."""

    def checked(image, what):
        image = np.asarray(image, dtype="float32")
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"{what} image must be (height, width, 3); got {image.shape}")
        if image.shape[0] < 32 or image.shape[1] < 32:
            raise ValueError(f"{what} image must be at least 32x32 pixels; got {image.shape}")
        return image

    content_image = checked(content_image, "the content")
    style_image = checked(style_image, "the style")
    vgg_input = keras.applications.vgg16.preprocess_input

    *style_targets, _ = extractor(vgg_input(tf.convert_to_tensor(style_image[None])))
    *_, content_target = extractor(vgg_input(tf.convert_to_tensor(content_image[None])))

    pixels = tf.Variable(tf.convert_to_tensor(content_image[None]), trainable=True)
    adam = keras.optimizers.Adam(learning_rate=learning_rate)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            current = tf.convert_to_tensor(pixels)  # read the variable: keras.ops.diff wants a tensor
            *style_now, content_now = extractor(vgg_input(current))
            loss_c = content_loss(content_target, content_now)
            loss_s = style_loss(style_targets, style_now, style_layer_weights)
            loss_tv = total_variation_loss(current)
            total = content_weight * loss_c + style_weight * loss_s + tv_weight * loss_tv
        losses.append(float(keras.ops.convert_to_numpy(total)))
        adam.apply([tape.gradient(total, pixels)], [pixels])
        pixels.assign(keras.ops.clip(pixels, 0, 255))
    return np.asarray(pixels[0], dtype="float32"), losses
