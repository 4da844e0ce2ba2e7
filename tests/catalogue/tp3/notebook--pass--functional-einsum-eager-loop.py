"""Functional API throughout, one conv per stage (32-256) with GAP, einsum Gram, keras.ops losses, an eager GradientTape loop.

Written from the student release alone.
"""
# %% build_cnn
def build_cnn(input_shape=(32, 32, 3), n_classes=10):
    """A convolutional classifier of raw-pixel images (not compiled)."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape should be (height, width, channels), not {input_shape}")
    inputs = keras.Input(input_shape)
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="cifar10_cnn")


# %% residual_block
def residual_block(x, filters, stride=1):
    """The post-activation residual block: identity shortcut, or 1x1 projection + BN."""
    if len(x.shape) != 4:
        raise ValueError(f"residual_block needs a tensor of rank 4 (batch, height, width, channels), not {x.shape}")
    if stride not in (1, 2):
        raise ValueError(f"stride should be 1 or 2, not {stride}")
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    if stride == 1 and x.shape[-1] == filters:
        shortcut = x
    else:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    y = layers.Add()([y, shortcut])
    return layers.ReLU()(y)


# %% build_resnet
def build_resnet(input_shape=(32, 32, 3), n_classes=10, blocks_per_stage=3, base_filters=16):
    """A CIFAR ResNet: a stem, three stages of residual blocks, global pooling, softmax."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape should be (height, width, channels), not {input_shape}")
    height, width = input_shape[0], input_shape[1]
    for side in (height, width):
        if side is not None and (side < 4 or side % 4 != 0):
            raise ValueError(f"height and width must be halvable twice (multiples of 4), not {input_shape}")
    inputs = keras.Input(input_shape)
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(base_filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for stage in range(3):
        filters = base_filters * 2**stage
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            x = residual_block(x, filters, stride)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="resnet")


# %% build_feature_extractor
def build_feature_extractor(style_layers, content_layer, weights="imagenet"):
    """A frozen VGG16 model returning [each style layer's activation..., the content layer's]."""
    vgg = keras.applications.VGG16(include_top=False, weights=weights)
    vgg.trainable = False
    names = [layer.name for layer in vgg.layers]
    for name in list(style_layers) + [content_layer]:
        if name not in names:
            raise ValueError(f"VGG16 has no layer named {name!r}")
    outputs = [vgg.get_layer(name).output for name in style_layers]
    outputs.append(vgg.get_layer(content_layer).output)
    extractor = keras.Model(vgg.input, outputs, name="vgg16_features")
    extractor.trainable = False
    return extractor


# %% gram_matrix
def gram_matrix(features):
    """(batch, H, W, C) activations -> (batch, C, C) Gram matrices, normalised by H * W."""
    features = keras.ops.convert_to_tensor(features)
    if len(features.shape) != 4:
        raise ValueError(f"features should be of rank 4 (batch, H, W, C), not of shape {features.shape}")
    shape = keras.ops.shape(features)
    positions = keras.ops.cast(shape[1] * shape[2], features.dtype)
    return keras.ops.einsum("bijc,bijd->bcd", features, features) / positions


# %% style_losses
def content_loss(content_features, generated_features):
    """The mean squared difference of two activations of the same shape."""
    content_features = keras.ops.convert_to_tensor(content_features)
    generated_features = keras.ops.convert_to_tensor(generated_features)
    if tuple(content_features.shape) != tuple(generated_features.shape):
        raise ValueError(
            f"the activations differ in shape: {tuple(content_features.shape)} and {tuple(generated_features.shape)}"
        )
    return keras.ops.mean(keras.ops.square(generated_features - content_features))


def style_loss(style_features, generated_features, layer_weights=None):
    """The weighted sum over layers of the mean squared difference of the Gram matrices."""
    style_features, generated_features = list(style_features), list(generated_features)
    if len(style_features) != len(generated_features):
        raise ValueError(
            f"{len(style_features)} style activations but {len(generated_features)} generated ones"
        )
    if not style_features:
        raise ValueError("style_loss needs at least one layer")
    if layer_weights is None:
        layer_weights = [1.0 / len(style_features)] * len(style_features)
    elif len(layer_weights) != len(style_features):
        raise ValueError(f"{len(layer_weights)} layer weights for {len(style_features)} layers")
    total = 0.0
    for weight, style, generated in zip(layer_weights, style_features, generated_features):
        difference = gram_matrix(generated) - gram_matrix(style)
        total = total + weight * keras.ops.mean(keras.ops.square(difference))
    return total


def total_variation_loss(images):
    """Mean squared difference of vertical neighbours plus that of horizontal neighbours."""
    images = keras.ops.convert_to_tensor(images)
    if len(images.shape) != 4:
        raise ValueError(f"images should be of rank 4 (batch, H, W, C), not of shape {images.shape}")
    vertical = images[:, 1:, :, :] - images[:, :-1, :, :]
    horizontal = images[:, :, 1:, :] - images[:, :, :-1, :]
    return keras.ops.mean(keras.ops.square(vertical)) + keras.ops.mean(keras.ops.square(horizontal))


# %% style_transfer
def style_transfer(content_image, style_image, extractor, steps=100, learning_rate=5.0,
                   content_weight=1.0, style_weight=1e-3, tv_weight=1e-2, style_layer_weights=None):  # fmt: skip
    """Optimise an image (from the content image) for content, style and smoothness: (image, losses)."""
    for name, image in (("content", content_image), ("style", style_image)):
        shape = np.shape(image)
        if len(shape) != 3 or shape[-1] != 3:
            raise ValueError(f"the {name} image should be (height, width, 3), not {shape}")
        if shape[0] < 32 or shape[1] < 32:
            raise ValueError(f"the {name} image should be at least 32 pixels on a side, not {shape}")
    preprocess = keras.applications.vgg16.preprocess_input
    content = tf.constant(np.asarray(content_image, dtype="float32")[None])
    style = tf.constant(np.asarray(style_image, dtype="float32")[None])
    content_target = extractor(preprocess(content))[-1]
    style_targets = extractor(preprocess(style))[:-1]
    image = tf.Variable(content)
    optimizer = keras.optimizers.Adam(learning_rate)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            features = extractor(preprocess(image))
            loss = (
                content_weight * content_loss(content_target, features[-1])
                + style_weight * style_loss(style_targets, features[:-1], style_layer_weights)
                + tv_weight * total_variation_loss(image)
            )
        gradient = tape.gradient(loss, image)
        optimizer.apply_gradients([(gradient, image)])
        image.assign(tf.clip_by_value(image, 0.0, 255.0))
        losses.append(float(loss))
    return image.numpy()[0].astype("float32"), losses
