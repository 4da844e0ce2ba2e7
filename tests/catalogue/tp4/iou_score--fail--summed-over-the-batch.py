"""One IoU of the whole batch (sums over every axis) instead of the mean of each sample's: right
for a batch of one.

loses: iou_averages_samples_and_relates_to_dice
"""


def iou_score(y_true, y_pred, smooth=1.0):
    check_masks(y_true, y_pred, smooth)
    y_true = keras.ops.cast(y_true, "float32")
    y_pred = keras.ops.cast(y_pred, "float32")
    intersection = keras.ops.sum(y_true * y_pred)
    union = keras.ops.sum(y_true) + keras.ops.sum(y_pred) - intersection
    return (intersection + smooth) / (union + smooth)
