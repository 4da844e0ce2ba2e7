"""State as a tuple, the step written with a power of -1/2."""


def rmsprop_step(params, grads, state, lr, rho=0.9, epsilon=1e-7):
    check_params_and_grads(params, grads)
    mean_square = state.get("ms", tuple(0.0 * np.asarray(p) for p in params))
    mean_square = tuple(rho * s + (1.0 - rho) * np.square(g) for s, g in zip(mean_square, grads))
    return [p - lr * g * (s + epsilon) ** -0.5 for p, g, s in zip(params, grads, mean_square)], {
        "ms": mean_square
    }
