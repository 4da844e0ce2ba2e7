"""Takes the norm of the weights instead of its square.

loses: l2_penalty_matches_keras, l2_penalty_grad_matches_the_penalty
"""


def l2_penalty(weights, l2):
    if l2 < 0:
        raise ValueError("l2 must not be negative")
    return l2 * sum(float(np.linalg.norm(w)) for w in weights)


def l2_penalty_grad(weights, l2):
    if l2 < 0:
        raise ValueError("l2 must not be negative")
    return [l2 * w / np.linalg.norm(w) for w in weights]
