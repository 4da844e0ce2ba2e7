"""Drops values whatever ``training`` says.

loses: dropout_identity_at_inference
"""


def dropout(x, rate, training, rng):
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must lie in [0, 1), not {rate}")
    keep = rng.random(np.shape(x)) >= rate
    return np.where(keep, x / (1.0 - rate), 0.0)
