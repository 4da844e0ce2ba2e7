"""Flattens every axis but the last into one batch axis, computes, reshapes back."""


def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    flat = np.reshape(x, (-1, np.shape(x)[-1]))
    if training:
        mean = flat.sum(axis=0) / len(flat)
        var = ((flat - mean) ** 2).sum(axis=0) / len(flat)
        moving_mean = moving_mean * momentum + mean * (1 - momentum)
        moving_var = moving_var * momentum + var * (1 - momentum)
    else:
        mean, var = moving_mean, moving_var
    y = (flat - mean) / np.sqrt(var + epsilon) * gamma + beta
    return y.reshape(np.shape(x)), moving_mean, moving_var
