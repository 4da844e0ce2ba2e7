"""Right for (N, D) inputs; for (N, H, D) it treats only the first axis as the batch.

loses: batchnorm_backward_any_rank
"""


def batchnorm_backward(dy, x, gamma, epsilon=1e-3):
    n = x.shape[0]
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + epsilon)
    x_hat = (x - x.mean(axis=0)) * inv_std
    dx_hat = dy * gamma
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, (dy * x_hat).sum(axis=0), dy.sum(axis=0)
