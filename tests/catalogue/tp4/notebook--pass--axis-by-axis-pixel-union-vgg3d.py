"""Sums taken one trailing axis at a time and the IoU's union summed pixel by pixel (t + p - t*p), Conv2DTranspose with the skips in a dict by level, a VGG-like Conv3D net (pairs of convolutions, MaxPooling3D, Flatten, Dropout).

Written from the student release alone.
"""
# %% dice
def per_sample_sum(x):
    """Sum every axis but the first, one trailing axis at a time: shape (N,)."""
    while len(x.shape) > 1:
        x = keras.ops.sum(x, axis=-1)
    return x


def dice_coefficient(y_true, y_pred, smooth=1.0):
    """The soft Dice coefficient, per sample over all non-batch axes, averaged over the batch."""
    check_masks(y_true, y_pred, smooth)
    y_true = keras.ops.convert_to_tensor(y_true, dtype="float32")
    y_pred = keras.ops.convert_to_tensor(y_pred, dtype="float32")
    numerator = keras.ops.add(keras.ops.multiply(2.0, per_sample_sum(keras.ops.multiply(y_true, y_pred))), smooth)
    denominator = keras.ops.add(keras.ops.add(per_sample_sum(y_true), per_sample_sum(y_pred)), smooth)
    return keras.ops.mean(keras.ops.divide(numerator, denominator))


def dice_loss(y_true, y_pred):
    """1 - the soft Dice coefficient (smooth = 1): a differentiable loss."""
    return keras.ops.subtract(1.0, dice_coefficient(y_true, y_pred, 1.0))


# %% iou_score
def iou_score(y_true, y_pred, smooth=1.0):
    """The soft IoU, per sample over all non-batch axes, averaged over the batch."""
    check_masks(y_true, y_pred, smooth)
    y_true = keras.ops.convert_to_tensor(y_true, dtype="float32")
    y_pred = keras.ops.convert_to_tensor(y_pred, dtype="float32")
    overlap = keras.ops.multiply(y_true, y_pred)
    intersection = per_sample_sum(overlap)
    union = per_sample_sum(y_true + y_pred - overlap)  # the same as the sums minus the intersection
    return keras.ops.mean((intersection + smooth) / (union + smooth))


# %% unet_blocks
def conv_block(x, filters):
    """Two 3x3 'same' convolutions with ReLU."""
    first = layers.Conv2D(filters, 3, padding="same", activation="relu")
    second = layers.Conv2D(filters, 3, padding="same", activation="relu")
    return second(first(x))


def encoder_block(x, filters):
    """``(skip, down)``: the block's features at the input's resolution, and max-pooled by 2."""
    features = conv_block(x, filters)
    pooled = layers.MaxPooling2D(pool_size=2)(features)
    return features, pooled


def decoder_block(x, skip, filters):
    """Up-sample ``x`` by 2, concatenate ``skip``, then a conv block."""
    upsampled = layers.Conv2DTranspose(filters, kernel_size=2, strides=2, padding="valid")(x)
    joined = layers.Concatenate(axis=-1)([upsampled, skip])
    return conv_block(joined, filters)


# %% build_unet
def build_unet(input_shape=(128, 128, 1), n_classes=1, base_filters=16, depth=4):
    """A U-Net of ``depth`` levels (not compiled)."""
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"expected input_shape (height, width, channels), got {shape}")
    for size in shape[:2]:
        if size is None or int(size) != size or size <= 0:
            raise ValueError(f"height and width must be positive integers, got {shape}")
        if size % 2**depth != 0:
            raise ValueError(f"{shape[:2]} cannot be halved {depth} times: both must be multiples of {2**depth}")
    inputs = keras.Input(shape=shape)
    skips = {}
    x = inputs
    for level in range(depth):
        skips[level], x = encoder_block(x, base_filters * 2**level)
    x = conv_block(x, base_filters * 2**depth)
    for level in range(depth - 1, -1, -1):
        x = decoder_block(x, skips[level], base_filters * 2**level)
    logits = layers.Conv2D(n_classes, 1)(x)
    if n_classes == 1:
        outputs = layers.Activation("sigmoid")(logits)
    else:
        outputs = layers.Softmax(axis=-1)(logits)
    return keras.Model(inputs, outputs)


# %% build_conv3d_net
def build_conv3d_net(input_shape=(32, 32, 32, 1), n_classes=2):
    """A small 3D CNN classifying volumes (not compiled)."""
    shape = tuple(input_shape)
    if len(shape) != 4:
        raise ValueError(f"expected input_shape (depth, height, width, channels), got {shape}")
    inputs = keras.Input(shape=shape)
    x = inputs
    for filters in (8, 16, 32):
        x = layers.Conv3D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv3D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling3D(pool_size=2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)
