"""Takes the statistics over the first axis only, right for (N, D) inputs, wrong for (N, H, D).

loses: batchnorm_any_rank_and_inputs_kept
"""


def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    if training:
        mean, var = x.mean(axis=0), x.var(axis=0)
        new_mean = momentum * moving_mean + (1 - momentum) * mean
        new_var = momentum * moving_var + (1 - momentum) * var
    else:
        mean, var, new_mean, new_var = moving_mean, moving_var, moving_mean, moving_var
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta, new_mean, new_var
