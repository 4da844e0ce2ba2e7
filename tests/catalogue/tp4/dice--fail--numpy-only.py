"""Computes the Dice with NumPy: right on arrays, but no gradient flows and it breaks inside model.fit.

loses: dice_loss_is_differentiable, dice_loss_trains_a_model_in_compile
"""


def dice_coefficient(y_true, y_pred, smooth=1.0):
    check_masks(y_true, y_pred, smooth)
    t = np.asarray(y_true, dtype="float32").reshape(len(y_true), -1)
    p = np.asarray(y_pred, dtype="float32").reshape(len(y_pred), -1)
    return float(np.mean((2 * (t * p).sum(1) + smooth) / (t.sum(1) + p.sum(1) + smooth)))


def dice_loss(y_true, y_pred):
    return 1.0 - dice_coefficient(y_true, y_pred)
