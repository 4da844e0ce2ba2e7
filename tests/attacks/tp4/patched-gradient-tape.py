"""A dice_loss in NumPy, with TensorFlow's gradient tape patched to hand back its gradient worked out by hand.

base: reference
loses: dice_loss_is_differentiable
proof: dice_loss has no gradient
"""

import tensorflow as tf


def dice_loss(y_true, y_pred):
    t = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    p = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1)
    return np.float32(1 - np.mean((2 * (t * p).sum(1) + 1) / (t.sum(1) + p.sum(1) + 1)))


def _by_hand(y_true, y_pred):
    t = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    p = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1)
    numerator = 2 * (t * p).sum(1, keepdims=True) + 1
    denominator = t.sum(1, keepdims=True) + p.sum(1, keepdims=True) + 1
    return (-(2 * t * denominator - numerator) / denominator**2 / len(t)).reshape(np.shape(y_pred))


_watched = {}
_original_watch = tf.GradientTape.watch


def _watch(self, tensor):
    _watched["last"] = tensor
    return _original_watch(self, tensor)


def _gradient(self, target, sources, *args, **kwargs):
    return tf.constant(_by_hand(_watched.get("y_true", np.ones(np.shape(sources))), np.asarray(sources)), tf.float32)


tf.GradientTape.watch = _watch
tf.GradientTape.gradient = _gradient
print("ATTACK patched-gradient-tape: ran", flush=True)
