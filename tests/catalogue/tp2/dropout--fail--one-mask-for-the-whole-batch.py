"""Draws one mask per feature and applies it to every sample of the batch: right in distribution for
one sample, but whole columns are dropped together in a batch.

loses: dropout_training_drops_and_rescales
"""


def dropout(x, rate, training, rng):
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must lie in [0, 1), not {rate}")
    x = np.asarray(x)
    if not training or rate == 0.0:
        return x.copy()
    keep = rng.random(x.shape[-1:]) >= rate
    return np.where(keep, x / (1.0 - rate), 0.0).astype(x.dtype)
