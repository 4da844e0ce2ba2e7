"""Normalises with the batch's statistics even at inference.

loses: batchnorm_inference
"""


def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    y = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    if not training:
        return y, moving_mean, moving_var
    return y, momentum * moving_mean + (1 - momentum) * mean, momentum * moving_var + (1 - momentum) * var
