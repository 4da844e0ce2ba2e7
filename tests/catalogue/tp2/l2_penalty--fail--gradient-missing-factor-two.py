"""The penalty is right, its gradient forgets the 2 of d(w^2)/dw.

loses: l2_penalty_grad_matches_the_penalty
"""


def l2_penalty(weights, l2):
    if l2 < 0:
        raise ValueError("l2 must not be negative")
    return l2 * sum(float(np.sum(w**2)) for w in weights)


def l2_penalty_grad(weights, l2):
    if l2 < 0:
        raise ValueError("l2 must not be negative")
    return [l2 * w for w in weights]
