"""Works in place, but on copies it made first."""


def rmsprop_step(params, grads, state, lr, rho=0.9, epsilon=1e-7):
    check_params_and_grads(params, grads)
    squares = [s.copy() for s in state["squares"]] if state else [np.zeros_like(p) for p in params]
    new_params = [p.copy() for p in params]
    for p, g, s in zip(new_params, grads, squares):
        s *= rho
        s += (1 - rho) * g * g
        p -= lr * g / np.sqrt(s + epsilon)
    return new_params, {"squares": squares}
