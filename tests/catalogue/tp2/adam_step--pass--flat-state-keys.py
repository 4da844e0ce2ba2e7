"""One state entry per parameter and moment ("m0", "v0", ...), an explicit loop."""


def adam_step(params, grads, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    check_params_and_grads(params, grads)
    new_state = {"step": state.get("step", 0) + 1}
    t = new_state["step"]
    new_params = []
    for i, (p, g) in enumerate(zip(params, grads)):
        m = beta_1 * state.get(f"m{i}", np.zeros_like(p)) + (1 - beta_1) * g
        v = beta_2 * state.get(f"v{i}", np.zeros_like(p)) + (1 - beta_2) * np.power(g, 2)
        new_state[f"m{i}"], new_state[f"v{i}"] = m, v
        step_size = lr * np.sqrt(1 - np.power(beta_2, t)) / (1 - np.power(beta_1, t))
        new_params.append(p - step_size * m / (np.sqrt(v) + epsilon))
    return new_params, new_state
