"""Counts steps in a global variable: the same arguments give a different step every call.

loses: adam_contract
"""

STEP = [0]


def adam_step(params, grads, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    check_params_and_grads(params, grads)
    STEP[0] += 1
    t = STEP[0]
    m = state.get("m") or [np.zeros_like(p) for p in params]
    v = state.get("v") or [np.zeros_like(p) for p in params]
    m = [beta_1 * a + (1 - beta_1) * g for a, g in zip(m, grads)]
    v = [beta_2 * b + (1 - beta_2) * g**2 for b, g in zip(v, grads)]
    alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return [p - alpha * a / (np.sqrt(b) + epsilon) for p, a, b in zip(params, m, v)], {"m": m, "v": v}
