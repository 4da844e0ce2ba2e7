"""Drops exactly round(rate * n) values chosen by a permutation: not independent per value.

loses: dropout_training_drops_and_rescales
"""
def dropout(x, rate, training, rng):
    """Inverted dropout of ``x`` at ``rate`` when ``training``; ``x`` unchanged otherwise."""
    if not 0 <= rate < 1:
        raise ValueError(f"rate must lie in [0, 1), not {rate}")
    if not training:
        return x
    x = np.asarray(x)
    n = x.size
    keep = np.ones(n, dtype=bool)
    keep[rng.permutation(n)[: int(round(rate * n))]] = False
    keep = keep.reshape(x.shape)
    return np.where(keep, x / (1 - rate), 0.0).astype(x.dtype)
