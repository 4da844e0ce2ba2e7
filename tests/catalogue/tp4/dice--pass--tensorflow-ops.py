"""Written with TensorFlow's own operations (the backend) instead of keras.ops."""

import tensorflow as tf


def dice_coefficient(y_true, y_pred, smooth=1.0):
    check_masks(y_true, y_pred, smooth)
    t, p = tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32)
    axes = list(range(1, len(t.shape)))
    numerator = 2.0 * tf.reduce_sum(t * p, axis=axes) + smooth
    denominator = tf.reduce_sum(t + p, axis=axes) + smooth
    return tf.reduce_mean(numerator / denominator)


def dice_loss(y_true, y_pred):
    return 1.0 - dice_coefficient(y_true, y_pred)
