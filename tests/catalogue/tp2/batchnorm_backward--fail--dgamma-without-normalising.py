"""dgamma sums dy * x instead of dy * x_hat.

loses: batchnorm_backward_dgamma_dbeta
"""


def batchnorm_backward(dy, x, gamma, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    n = x.size // x.shape[-1]
    inv_std = 1.0 / np.sqrt(x.var(axis=axes) + epsilon)
    x_hat = (x - x.mean(axis=axes)) * inv_std
    dx_hat = dy * gamma
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=axes) - x_hat * (dx_hat * x_hat).sum(axis=axes))
    return dx, (dy * x).sum(axis=axes), dy.sum(axis=axes)
