"""Weights the batch's statistics by momentum and the moving ones by 1 - momentum.

loses: batchnorm_moving_statistics
"""


def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        new_mean = (1 - momentum) * moving_mean + momentum * mean
        new_var = (1 - momentum) * moving_var + momentum * var
    else:
        mean, var, new_mean, new_var = moving_mean, moving_var, moving_mean, moving_var
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta, new_mean, new_var
