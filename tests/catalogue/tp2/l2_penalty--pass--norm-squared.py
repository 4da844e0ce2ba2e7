"""np.linalg.norm squared, accumulated in a loop; returns a NumPy scalar."""


def l2_penalty(weights, l2):
    if l2 < 0:
        raise ValueError("l2 must be >= 0")
    total = np.float64(0.0)
    for w in weights:
        total += np.linalg.norm(np.ravel(w)) ** 2
    return l2 * total


def l2_penalty_grad(weights, l2):
    if l2 < 0:
        raise ValueError("l2 must be >= 0")
    grads = []
    for w in weights:
        grads.append(l2 * (w + w))
    return grads
