"""Forgets the factor 2 of the intersection: a perfect prediction scores about 0.5.

loses: dice_follows_the_definition, dice_is_the_mean_of_per_sample_scores
"""


def dice_coefficient(y_true, y_pred, smooth=1.0):
    check_masks(y_true, y_pred, smooth)
    y_true, y_pred = keras.ops.cast(y_true, "float32"), keras.ops.cast(y_pred, "float32")
    axes = tuple(range(1, len(y_true.shape)))
    intersection = keras.ops.sum(y_true * y_pred, axis=axes)
    total = keras.ops.sum(y_true, axis=axes) + keras.ops.sum(y_pred, axis=axes)
    return keras.ops.mean((intersection + smooth) / (total + smooth))


def dice_loss(y_true, y_pred):
    return 1.0 - dice_coefficient(y_true, y_pred)
