"""Masks flattened to (N, -1) with the union as sum(t + p) - intersection, UpSampling2D + Conv2D upsampling, a strided Conv3D net without pooling layers.

Written from the student release alone.
"""
# %% dice
def _flat(y):
    """The masks as float32 rows, one per sample."""
    y = keras.ops.cast(keras.ops.convert_to_tensor(y), "float32")
    return keras.ops.reshape(y, (keras.ops.shape(y)[0], -1))


def dice_coefficient(y_true, y_pred, smooth=1.0):
    """The soft Dice coefficient, per sample over all non-batch axes, averaged over the batch."""
    check_masks(y_true, y_pred, smooth)
    t, p = _flat(y_true), _flat(y_pred)
    intersection = keras.ops.sum(t * p, axis=1)
    both = keras.ops.sum(t + p, axis=1)
    return keras.ops.mean((2.0 * intersection + smooth) / (both + smooth))


def dice_loss(y_true, y_pred):
    """1 - the soft Dice coefficient (smooth = 1): a differentiable loss."""
    return 1.0 - dice_coefficient(y_true, y_pred)


# %% iou_score
def iou_score(y_true, y_pred, smooth=1.0):
    """The soft IoU, per sample over all non-batch axes, averaged over the batch."""
    check_masks(y_true, y_pred, smooth)
    t, p = _flat(y_true), _flat(y_pred)
    intersection = keras.ops.sum(t * p, axis=1)
    union = keras.ops.sum(t + p, axis=1) - intersection
    scores = (intersection + smooth) / (union + smooth)
    return keras.ops.mean(scores)


# %% unet_blocks
def conv_block(x, filters):
    """Two 3x3 'same' convolutions with ReLU."""
    for _ in range(2):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", use_bias=True)(x)
    return x


def encoder_block(x, filters):
    """``(skip, down)``: the block's features at the input's resolution, and max-pooled by 2."""
    skip = conv_block(x, filters)
    return skip, layers.MaxPooling2D(2)(skip)


def decoder_block(x, skip, filters):
    """Up-sample ``x`` by 2, concatenate ``skip``, then a conv block."""
    up = layers.UpSampling2D(2)(x)
    up = layers.Conv2D(filters, 2, padding="same")(up)
    x = layers.Concatenate()([up, skip])
    return conv_block(x, filters)


# %% build_unet
def build_unet(input_shape=(128, 128, 1), n_classes=1, base_filters=16, depth=4):
    """A U-Net of ``depth`` levels (not compiled)."""
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), not {input_shape!r}")
    height, width, _ = input_shape
    for size in (height, width):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"height and width must be positive integers, not {input_shape!r}")
        if size % (2**depth):
            raise ValueError(f"{size} cannot be halved {depth} times: input_shape {input_shape!r}")
    inputs = keras.Input(tuple(input_shape))
    skips = []
    x = inputs
    filters = base_filters
    for _ in range(depth):
        skip, x = encoder_block(x, filters)
        skips.append((skip, filters))
        filters *= 2
    x = conv_block(x, filters)
    while skips:
        skip, filters = skips.pop()
        x = decoder_block(x, skip, filters)
    if n_classes == 1:
        outputs = layers.Conv2D(1, 1, activation="sigmoid")(x)
    else:
        outputs = layers.Conv2D(n_classes, 1, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


# %% build_conv3d_net
def build_conv3d_net(input_shape=(32, 32, 32, 1), n_classes=2):
    """A small 3D CNN classifying volumes (not compiled)."""
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 4:
        raise ValueError(f"input_shape must be (depth, height, width, channels), not {input_shape!r}")
    inputs = keras.Input(tuple(input_shape))
    x = layers.Conv3D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.Conv3D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv3D(32, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling3D()(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)
