"""The gradient is computed by scaling the given weight arrays in place (w *= 2 * l2).

loses: l2_penalty_grad_matches_the_penalty
"""
def l2_penalty(weights, l2):
    """The L2 penalty of a list of weight arrays, as ``keras.regularizers.L2(l2)`` computes it."""
    if l2 < 0:
        raise ValueError(f"l2 must not be negative, not {l2}")
    return float(l2 * sum(np.sum(np.square(w)) for w in weights))


def l2_penalty_grad(weights, l2):
    """The gradient of :func:`l2_penalty` with respect to each weight array (a list of arrays)."""
    if l2 < 0:
        raise ValueError(f"l2 must not be negative, not {l2}")
    for w in weights:
        w *= 2 * l2
    return list(weights)
