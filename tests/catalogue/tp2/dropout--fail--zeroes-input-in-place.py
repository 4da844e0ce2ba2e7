"""Writes the mask into the given array (x[dropped] = 0; x /= 1 - rate): the caller's x is changed.

loses: dropout_training_drops_and_rescales
"""
def dropout(x, rate, training, rng):
    """Inverted dropout of ``x`` at ``rate`` when ``training``; ``x`` unchanged otherwise."""
    if not 0 <= rate < 1:
        raise ValueError(f"rate must lie in [0, 1), not {rate}")
    if not training:
        return x
    dropped = rng.random(np.shape(x)) < rate
    x[dropped] = 0
    x /= 1 - rate
    return x
