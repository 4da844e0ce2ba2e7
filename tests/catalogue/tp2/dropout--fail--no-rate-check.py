"""Accepts any rate (at 1.0 it divides by zero).

loses: dropout_uses_rng_and_checks_rate
"""


def dropout(x, rate, training, rng):
    if not training:
        return np.array(x, copy=True)
    keep = rng.random(np.shape(x)) >= rate
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(keep, x / (1.0 - rate), 0.0)
