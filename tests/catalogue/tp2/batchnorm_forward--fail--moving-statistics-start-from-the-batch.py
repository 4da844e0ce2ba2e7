"""Takes the batch's statistics as the moving ones when these are still at their initial values (0
and 1), as a warm start: right for every later batch, wrong for the first.

loses: batchnorm_moving_statistics
"""


def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    x = np.asarray(x)
    axes = tuple(range(x.ndim - 1))
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        if np.all(np.asarray(moving_mean) == 0) and np.all(np.asarray(moving_var) == 1):
            new_mean, new_var = mean.copy(), var.copy()
        else:
            new_mean = momentum * moving_mean + (1 - momentum) * mean
            new_var = momentum * moving_var + (1 - momentum) * var
    else:
        mean, var = moving_mean, moving_var
        new_mean, new_var = np.array(moving_mean, copy=True), np.array(moving_var, copy=True)
    y = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    return y, new_mean, new_var
