"""Updates the given parameter arrays in place and returns them.

loses: sgd_contract
"""


def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False):
    check_params_and_grads(params, grads)
    velocities = state.get("velocities") or [np.zeros_like(p) for p in params]
    for i, g in enumerate(grads):
        velocities[i] = momentum * velocities[i] - lr * g
        params[i] += momentum * velocities[i] - lr * g if nesterov else velocities[i]
    return params, {"velocities": velocities}
