"""Uses the textbook l2 / 2 * sum(w^2), not Keras's l2 * sum(w^2) (and its gradient l2 * w).

loses: l2_penalty_matches_keras, l2_penalty_grad_matches_the_penalty
"""


def l2_penalty(weights, l2):
    if l2 < 0:
        raise ValueError("l2 must not be negative")
    return 0.5 * l2 * sum(float(np.sum(w**2)) for w in weights)


def l2_penalty_grad(weights, l2):
    if l2 < 0:
        raise ValueError("l2 must not be negative")
    return [l2 * w for w in weights]
