"""Flattens each sample to one row; the union written as t + p - t * p summed."""


def iou_score(y_true, y_pred, smooth=1.0):
    check_masks(y_true, y_pred, smooth)
    batch = keras.ops.shape(y_true)[0]
    t = keras.ops.reshape(keras.ops.cast(y_true, "float32"), (batch, -1))
    p = keras.ops.reshape(keras.ops.cast(y_pred, "float32"), (batch, -1))
    intersection = keras.ops.sum(t * p, axis=1)
    union = keras.ops.sum(t + p - t * p, axis=1)
    return keras.ops.mean((intersection + smooth) / (union + smooth))
