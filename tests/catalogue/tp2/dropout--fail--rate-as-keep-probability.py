"""Reads ``rate`` as the probability of keeping a value.

loses: dropout_training_drops_and_rescales
"""


def dropout(x, rate, training, rng):
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must lie in [0, 1), not {rate}")
    if not training:
        return np.array(x, copy=True)
    keep = rng.random(np.shape(x)) < rate
    return np.where(keep, x / rate, 0.0) if rate else np.array(x, copy=True)
