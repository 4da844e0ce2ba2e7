"""Skips check_masks: masks of different shapes broadcast silently, a non-binary y_true passes.

loses: dice_rejects_bad_input
"""


def dice_coefficient(y_true, y_pred, smooth=1.0):
    y_true, y_pred = keras.ops.cast(y_true, "float32"), keras.ops.cast(y_pred, "float32")
    axes = tuple(range(1, len(y_true.shape)))
    intersection = keras.ops.sum(y_true * y_pred, axis=axes)
    total = keras.ops.sum(y_true, axis=axes) + keras.ops.sum(y_pred, axis=axes)
    return keras.ops.mean((2.0 * intersection + smooth) / (total + smooth))


def dice_loss(y_true, y_pred):
    return 1.0 - dice_coefficient(y_true, y_pred)
