"""Takes the union as the sum of the two masks, without subtracting the intersection.

loses: iou_follows_the_definition, iou_averages_samples_and_relates_to_dice
"""


def iou_score(y_true, y_pred, smooth=1.0):
    check_masks(y_true, y_pred, smooth)
    y_true, y_pred = keras.ops.cast(y_true, "float32"), keras.ops.cast(y_pred, "float32")
    axes = tuple(range(1, len(y_true.shape)))
    intersection = keras.ops.sum(y_true * y_pred, axis=axes)
    union = keras.ops.sum(y_true, axis=axes) + keras.ops.sum(y_pred, axis=axes)
    return keras.ops.mean((intersection + smooth) / (union + smooth))
