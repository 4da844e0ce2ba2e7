"""Returns the Dice coefficient under the IoU's name.

loses: iou_follows_the_definition, iou_averages_samples_and_relates_to_dice
"""


def iou_score(y_true, y_pred, smooth=1.0):
    return dice_coefficient(y_true, y_pred, smooth)
