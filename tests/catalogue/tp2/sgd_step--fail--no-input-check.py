"""Never checks its inputs: zip quietly drops a parameter that has no gradient.

loses: sgd_contract
"""


def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False):
    velocities = state.get("velocities") or [np.zeros_like(p) for p in params]
    velocities = [momentum * v - lr * g for v, g in zip(velocities, grads)]
    if nesterov:
        return [p + momentum * v - lr * g for p, v, g in zip(params, velocities, grads)], {
            "velocities": velocities
        }
    return [p + v for p, v in zip(params, velocities)], {"velocities": velocities}
