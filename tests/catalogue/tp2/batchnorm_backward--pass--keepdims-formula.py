"""The compact formula with keepdims means."""


def batchnorm_backward(dy, x, gamma, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes, keepdims=True)
    inv_std = (((x - mean) ** 2).mean(axis=axes, keepdims=True) + epsilon) ** -0.5
    x_hat = (x - mean) * inv_std
    g = dy * gamma
    dx = inv_std * (g - g.mean(axis=axes, keepdims=True) - x_hat * (g * x_hat).mean(axis=axes, keepdims=True))
    return dx, np.sum(dy * x_hat, axis=axes), np.sum(dy, axis=axes)
