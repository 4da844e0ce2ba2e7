"""Right values, but a negative l2 goes through (a penalty that rewards large weights).

loses: l2_penalty_rejects_a_negative_factor
"""


def l2_penalty(weights, l2):
    return l2 * sum(float(np.sum(w**2)) for w in weights)


def l2_penalty_grad(weights, l2):
    return [2 * l2 * w for w in weights]
