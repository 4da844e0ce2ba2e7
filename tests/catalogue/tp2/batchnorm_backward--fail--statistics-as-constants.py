"""Treats the batch mean and variance as constants: dx = dy * gamma / std.

loses: batchnorm_backward_dx
"""


def batchnorm_backward(dy, x, gamma, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    inv_std = 1.0 / np.sqrt(x.var(axis=axes) + epsilon)
    x_hat = (x - x.mean(axis=axes)) * inv_std
    return dy * gamma * inv_std, (dy * x_hat).sum(axis=axes), dy.sum(axis=axes)
