"""The paper's Algorithm 1 (epsilon added to the corrected sqrt(v_hat)), not the epsilon hat Keras uses.

loses: adam_epsilon
"""


def adam_step(params, grads, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    check_params_and_grads(params, grads)
    t = state.get("t", 0) + 1
    m = state.get("m") or [np.zeros_like(p) for p in params]
    v = state.get("v") or [np.zeros_like(p) for p in params]
    m = [beta_1 * a + (1 - beta_1) * g for a, g in zip(m, grads)]
    v = [beta_2 * b + (1 - beta_2) * g**2 for b, g in zip(v, grads)]
    m_hat = [a / (1 - beta_1**t) for a in m]
    v_hat = [b / (1 - beta_2**t) for b in v]
    return [p - lr * a / (np.sqrt(b) + epsilon) for p, a, b in zip(params, m_hat, v_hat)], {
        "t": t,
        "m": m,
        "v": v,
    }
