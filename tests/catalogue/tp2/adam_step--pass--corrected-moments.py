"""Bias-corrected moments m_hat, v_hat, with epsilon / sqrt(1 - beta_2^t) beside sqrt(v_hat): Keras's step, rearranged."""


def adam_step(params, grads, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    check_params_and_grads(params, grads)
    t = state.get("t", 0) + 1
    m = [beta_1 * a + (1 - beta_1) * g for a, g in zip(state.get("m", [0.0] * len(params)), grads)]
    v = [beta_2 * b + (1 - beta_2) * g * g for b, g in zip(state.get("v", [0.0] * len(params)), grads)]
    m_hat = [a / (1 - beta_1**t) for a in m]
    v_hat = [b / (1 - beta_2**t) for b in v]
    eps = epsilon / np.sqrt(1 - beta_2**t)
    new_params = [p - lr * a / (np.sqrt(b) + eps) for p, a, b in zip(params, m_hat, v_hat)]
    return new_params, {"t": t, "m": m, "v": v}
