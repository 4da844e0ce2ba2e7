"""Keeps the velocity with the opposite sign (v = mu v + lr g, theta -= v): the same steps."""


def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False):
    check_params_and_grads(params, grads)
    previous = state.get("v", [np.zeros_like(p) for p in params])
    velocity = [momentum * v + lr * g for v, g in zip(previous, grads)]
    if nesterov:
        new_params = [p - momentum * v - lr * g for p, v, g in zip(params, velocity, grads)]
    else:
        new_params = [p - v for p, v in zip(params, velocity)]
    return new_params, {"v": velocity}
