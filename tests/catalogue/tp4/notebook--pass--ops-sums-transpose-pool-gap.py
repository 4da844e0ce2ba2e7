"""keras.ops sums over the non-batch axes, Conv2DTranspose upsampling in a loop, Conv3D + MaxPooling3D + GlobalAveragePooling3D.

Written from the student release alone.
"""
# %% dice
def dice_coefficient(y_true, y_pred, smooth=1.0):
    """The soft Dice coefficient, per sample over all non-batch axes, averaged over the batch."""
    check_masks(y_true, y_pred, smooth)
    t = keras.ops.cast(y_true, "float32")
    p = keras.ops.cast(y_pred, "float32")
    axes = tuple(range(1, len(t.shape)))
    intersection = keras.ops.sum(t * p, axis=axes)
    total = keras.ops.sum(t, axis=axes) + keras.ops.sum(p, axis=axes)
    per_sample = (2.0 * intersection + smooth) / (total + smooth)
    return keras.ops.mean(per_sample)


def dice_loss(y_true, y_pred):
    """1 - the soft Dice coefficient (smooth = 1): a differentiable loss."""
    return 1.0 - dice_coefficient(y_true, y_pred, smooth=1.0)


# %% iou_score
def iou_score(y_true, y_pred, smooth=1.0):
    """The soft IoU, per sample over all non-batch axes, averaged over the batch."""
    check_masks(y_true, y_pred, smooth)
    t = keras.ops.cast(y_true, "float32")
    p = keras.ops.cast(y_pred, "float32")
    axes = tuple(range(1, len(t.shape)))
    intersection = keras.ops.sum(t * p, axis=axes)
    union = keras.ops.sum(t, axis=axes) + keras.ops.sum(p, axis=axes) - intersection
    return keras.ops.mean((intersection + smooth) / (union + smooth))


# %% unet_blocks
def conv_block(x, filters):
    """Two 3x3 'same' convolutions with ReLU."""
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return x


def encoder_block(x, filters):
    """``(skip, down)``: the block's features at the input's resolution, and max-pooled by 2."""
    skip = conv_block(x, filters)
    down = layers.MaxPooling2D(2)(skip)
    return skip, down


def decoder_block(x, skip, filters):
    """Up-sample ``x`` by 2, concatenate ``skip``, then a conv block."""
    up = layers.Conv2DTranspose(filters, 2, strides=2)(x)
    merged = layers.Concatenate()([up, skip])
    return conv_block(merged, filters)


# %% build_unet
def build_unet(input_shape=(128, 128, 1), n_classes=1, base_filters=16, depth=4):
    """A U-Net of ``depth`` levels (not compiled)."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), not {input_shape}")
    height, width, channels = input_shape
    factor = 2**depth
    for name, size in (("height", height), ("width", width)):
        if not isinstance(size, (int, np.integer)) or size <= 0 or size % factor != 0:
            raise ValueError(f"the {name} {size!r} cannot be halved {depth} times (it must be a multiple of {factor})")
    inputs = keras.Input(input_shape)
    x = inputs
    skips = []
    for level in range(depth):
        skip, x = encoder_block(x, base_filters * 2**level)
        skips.append(skip)
    x = conv_block(x, base_filters * 2**depth)
    for level in reversed(range(depth)):
        x = decoder_block(x, skips[level], base_filters * 2**level)
    activation = "sigmoid" if n_classes == 1 else "softmax"
    outputs = layers.Conv2D(n_classes, 1, activation=activation)(x)
    return keras.Model(inputs, outputs, name="unet")


# %% build_conv3d_net
def build_conv3d_net(input_shape=(32, 32, 32, 1), n_classes=2):
    """A small 3D CNN classifying volumes (not compiled)."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 4:
        raise ValueError(f"input_shape must be (depth, height, width, channels), not {input_shape}")
    inputs = keras.Input(input_shape)
    x = layers.Conv3D(8, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling3D(2)(x)
    x = layers.Conv3D(16, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling3D(2)(x)
    x = layers.Conv3D(32, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling3D()(x)
    x = layers.Dense(32, activation="relu")(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="conv3d_net")
