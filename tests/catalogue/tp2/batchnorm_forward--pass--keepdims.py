"""Statistics with keepdims=True, and an inverse standard deviation."""


def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    axes = tuple(range(np.ndim(x) - 1))
    if training:
        mean = np.mean(x, axis=axes, keepdims=True)
        var = np.mean(np.square(x - mean), axis=axes, keepdims=True)
        new_mean = momentum * moving_mean + (1 - momentum) * mean.reshape(-1)
        new_var = momentum * moving_var + (1 - momentum) * var.reshape(-1)
    else:
        mean, var = moving_mean, moving_var
        new_mean, new_var = moving_mean.copy(), moving_var.copy()
    inv_std = 1.0 / np.sqrt(var + epsilon)
    return (x - mean) * inv_std * gamma + beta, new_mean, new_var
