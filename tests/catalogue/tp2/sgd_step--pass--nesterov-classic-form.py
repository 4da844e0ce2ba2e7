"""Nesterov written in the classic form theta += (1 + mu) v_new - mu v_old: algebraically Keras's."""


def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False):
    check_params_and_grads(params, grads)
    old = state.get("velocities", [np.zeros_like(p) for p in params])
    new = [momentum * v - lr * g for v, g in zip(old, grads)]
    if nesterov:
        moved = [p + (1 + momentum) * v_new - momentum * v_old for p, v_new, v_old in zip(params, new, old)]
    else:
        moved = [p + v for p, v in zip(params, new)]
    return moved, {"velocities": new}
