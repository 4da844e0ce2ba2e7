"""Sums over the whole batch at once instead of averaging per-sample scores: large masks outweigh small ones.

loses: dice_is_the_mean_of_per_sample_scores, dice_loss_is_differentiable
"""


def dice_coefficient(y_true, y_pred, smooth=1.0):
    check_masks(y_true, y_pred, smooth)
    y_true, y_pred = keras.ops.cast(y_true, "float32"), keras.ops.cast(y_pred, "float32")
    intersection = keras.ops.sum(y_true * y_pred)
    return (2.0 * intersection + smooth) / (keras.ops.sum(y_true) + keras.ops.sum(y_pred) + smooth)


def dice_loss(y_true, y_pred):
    return 1.0 - dice_coefficient(y_true, y_pred)
