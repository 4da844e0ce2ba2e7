"""Keeps the running mean in a global variable instead of the state it returns.

loses: rmsprop_contract
"""

_squares = {}


def rmsprop_step(params, grads, state, lr, rho=0.9, epsilon=1e-7):
    check_params_and_grads(params, grads)
    if not state:
        _squares.clear()
    new_params = []
    for i, (p, g) in enumerate(zip(params, grads)):
        _squares[i] = rho * _squares.get(i, 0.0) + (1 - rho) * g**2
        new_params.append(p - lr * g / np.sqrt(_squares[i] + epsilon))
    return new_params, {"steps": state.get("steps", 0) + 1}
