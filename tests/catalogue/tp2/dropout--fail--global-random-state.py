"""Draws the mask from NumPy's global random state instead of ``rng``.

loses: dropout_uses_rng_and_checks_rate
"""


def dropout(x, rate, training, rng):
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must lie in [0, 1), not {rate}")
    if not training:
        return np.array(x, copy=True)
    keep = np.random.rand(*np.shape(x)) >= rate
    return np.where(keep, x / (1.0 - rate), 0.0)
