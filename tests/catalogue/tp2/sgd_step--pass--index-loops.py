"""Index loops, a copy per array, and the state kept as a tuple."""


def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False):
    check_params_and_grads(params, grads)
    n = len(params)
    old = state["velocity"] if "velocity" in state else tuple(np.zeros(np.shape(params[i])) for i in range(n))
    velocity, new_params = [], []
    for i in range(n):
        v = momentum * old[i] - lr * grads[i]
        step = momentum * v - lr * grads[i] if nesterov else v
        if momentum == 0.0:
            step = -lr * grads[i]
        new_params.append(np.array(params[i], dtype=float) + step)
        velocity.append(v)
    return new_params, {"velocity": tuple(velocity)}
