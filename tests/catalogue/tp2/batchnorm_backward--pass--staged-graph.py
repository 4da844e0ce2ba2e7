"""Back-propagates through each stage of the forward pass, one node at a time."""


def batchnorm_backward(dy, x, gamma, epsilon=1e-3):
    d = x.shape[-1]
    x2 = x.reshape(-1, d)
    dy2 = dy.reshape(-1, d)
    n = len(x2)
    mu = x2.mean(axis=0)
    xc = x2 - mu
    var = (xc**2).mean(axis=0)
    std = np.sqrt(var + epsilon)
    x_hat = xc / std
    dbeta = dy2.sum(axis=0)
    dgamma = (dy2 * x_hat).sum(axis=0)
    dx_hat = dy2 * gamma
    dxc = dx_hat / std
    dstd = -(dx_hat * xc).sum(axis=0) / std**2
    dvar = dstd / (2 * std)
    dxc += 2 * xc * dvar / n
    dmu = -dxc.sum(axis=0)
    dx = dxc + dmu / n
    return dx.reshape(x.shape), dgamma, dbeta
