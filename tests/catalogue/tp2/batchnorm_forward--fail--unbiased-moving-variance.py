"""Normalises with the biased variance but moves the moving variance towards the unbiased one (as PyTorch does).

loses: batchnorm_moving_statistics
"""


def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        new_mean = momentum * moving_mean + (1 - momentum) * mean
        new_var = momentum * moving_var + (1 - momentum) * x.var(axis=axes, ddof=1)
    else:
        mean, var, new_mean, new_var = moving_mean, moving_var, moving_mean, moving_var
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta, new_mean, new_var
