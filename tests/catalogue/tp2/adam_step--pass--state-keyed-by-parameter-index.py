"""Keeps each parameter's moments in a dict keyed by its index (``{0: (m, v), 1: ...}``), the step
count under ``"t"``: the spec lets the state be any dict the step reads back."""


def adam_step(params, grads, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    check_params_and_grads(params, grads)
    t = state.get("t", 0) + 1
    new_state, new_params = {"t": t}, []
    for index, (p, g) in enumerate(zip(params, grads)):
        m, v = state.get(index, (np.zeros_like(p), np.zeros_like(p)))
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        rate = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        new_params.append(p - rate * m / (np.sqrt(v) + epsilon))
        new_state[index] = (m, v)
    return new_params, new_state
