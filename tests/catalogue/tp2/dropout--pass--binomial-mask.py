"""A Bernoulli mask from ``rng.binomial``, applied by multiplication."""


def dropout(x, rate, training, rng):
    if rate < 0 or rate >= 1:
        raise ValueError("dropout rate must be in [0, 1)")
    x = np.asarray(x)
    if not training:
        return x
    mask = rng.binomial(1, 1.0 - rate, size=x.shape)
    return x * mask / (1.0 - rate)
