"""Weights the new squared gradient by rho and the running mean by 1 - rho.

loses: rmsprop_defaults, rmsprop_rho_and_epsilon
"""


def rmsprop_step(params, grads, state, lr, rho=0.9, epsilon=1e-7):
    check_params_and_grads(params, grads)
    squares = state.get("squares") or [np.zeros_like(p) for p in params]
    squares = [(1 - rho) * s + rho * g**2 for s, g in zip(squares, grads)]
    return [p - lr * g / np.sqrt(s + epsilon) for p, g, s in zip(params, grads, squares)], {
        "squares": squares
    }
