"""Ignores ``nesterov``: the look-ahead step is plain momentum.

loses: sgd_nesterov
"""


def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False):
    check_params_and_grads(params, grads)
    velocities = state.get("velocities") or [np.zeros_like(p) for p in params]
    velocities = [momentum * v - lr * g for v, g in zip(velocities, grads)]
    return [p + v for p, v in zip(params, velocities)], {"velocities": velocities}
