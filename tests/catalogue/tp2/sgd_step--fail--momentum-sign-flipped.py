"""Adds the scaled gradient to the velocity and the velocity to the parameters: it climbs.

loses: sgd_momentum, sgd_nesterov
"""


def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False):
    check_params_and_grads(params, grads)
    if momentum == 0.0:
        return [p - lr * g for p, g in zip(params, grads)], {}
    velocities = state.get("velocities") or [np.zeros_like(p) for p in params]
    velocities = [momentum * v + lr * g for v, g in zip(velocities, grads)]
    if nesterov:
        return [p + momentum * v + lr * g for p, v, g in zip(params, velocities, grads)], {
            "velocities": velocities
        }
    return [p + v for p, v in zip(params, velocities)], {"velocities": velocities}
