"""Drops values but forgets to divide the kept ones by 1 - rate.

loses: dropout_training_drops_and_rescales
"""


def dropout(x, rate, training, rng):
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must lie in [0, 1), not {rate}")
    if not training:
        return np.array(x, copy=True)
    return x * (rng.random(np.shape(x)) >= rate)
