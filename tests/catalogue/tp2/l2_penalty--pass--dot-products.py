"""The squared norm as a dot product of the flattened weights."""


def l2_penalty(weights, l2):
    if l2 < 0:
        raise ValueError(f"negative l2: {l2}")
    return l2 * sum(np.dot(w.ravel(), w.ravel()) for w in weights)


def l2_penalty_grad(weights, l2):
    if l2 < 0:
        raise ValueError(f"negative l2: {l2}")
    return [np.multiply(w, 2 * l2) for w in weights]
