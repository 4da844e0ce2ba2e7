"""Thresholds the predictions at 0.5 in the loss: its gradient is zero (or absent), nothing learns.

loses: dice_loss_is_differentiable, dice_loss_trains_a_model_in_compile
"""


def dice_coefficient(y_true, y_pred, smooth=1.0):
    check_masks(y_true, y_pred, smooth)
    y_true, y_pred = keras.ops.cast(y_true, "float32"), keras.ops.cast(y_pred, "float32")
    axes = tuple(range(1, len(y_true.shape)))
    intersection = keras.ops.sum(y_true * y_pred, axis=axes)
    total = keras.ops.sum(y_true, axis=axes) + keras.ops.sum(y_pred, axis=axes)
    return keras.ops.mean((2.0 * intersection + smooth) / (total + smooth))


def dice_loss(y_true, y_pred):
    hard = keras.ops.cast(keras.ops.greater_equal(y_pred, 0.5), "float32")
    return 1.0 - dice_coefficient(y_true, hard)
