"""Vectorised NumPy, state as lists of arrays under named keys, compact batch-norm backward formula, MLflow fluent API logging the history after fit.

Written from the student release alone.
"""
# %% sgd_step
def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False):
    """One SGD step (with optional momentum or Nesterov momentum). Returns ``(new_params, new_state)``."""
    check_params_and_grads(params, grads)
    if not isinstance(state, dict):
        raise ValueError(f"state must be a dict, not {type(state).__name__}")
    if not lr >= 0:
        raise ValueError(f"the learning rate must not be negative, got {lr}")
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must lie in [0, 1], got {momentum}")
    if momentum == 0:
        new_params = [np.asarray(p) - lr * np.asarray(g) for p, g in zip(params, grads)]
        return new_params, {}
    velocities = state.get("velocities", [np.zeros_like(np.asarray(p)) for p in params])
    if len(velocities) != len(params):
        raise ValueError(f"the state holds {len(velocities)} velocities for {len(params)} parameters")
    new_velocities = [momentum * v - lr * np.asarray(g) for v, g in zip(velocities, grads)]
    if nesterov:
        new_params = [
            np.asarray(p) + momentum * v - lr * np.asarray(g) for p, v, g in zip(params, new_velocities, grads)
        ]
    else:
        new_params = [np.asarray(p) + v for p, v in zip(params, new_velocities)]
    return new_params, {"velocities": new_velocities}


# %% rmsprop_step
def rmsprop_step(params, grads, state, lr, rho=0.9, epsilon=1e-7):
    """One RMSprop step. Returns ``(new_params, new_state)``."""
    check_params_and_grads(params, grads)
    if not isinstance(state, dict):
        raise ValueError(f"state must be a dict, not {type(state).__name__}")
    if not lr >= 0:
        raise ValueError(f"the learning rate must not be negative, got {lr}")
    if not 0 <= rho <= 1:
        raise ValueError(f"rho must lie in [0, 1], got {rho}")
    if not epsilon >= 0:
        raise ValueError(f"epsilon must not be negative, got {epsilon}")
    squares = state.get("squares", [np.zeros_like(np.asarray(p)) for p in params])
    if len(squares) != len(params):
        raise ValueError(f"the state holds {len(squares)} running means for {len(params)} parameters")
    new_squares = [rho * s + (1 - rho) * np.square(g) for s, g in zip(squares, grads)]
    new_params = [
        np.asarray(p) - lr * np.asarray(g) / np.sqrt(s + epsilon) for p, g, s in zip(params, grads, new_squares)
    ]
    return new_params, {"squares": new_squares}


# %% adam_step
def adam_step(params, grads, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """One Adam step. Returns ``(new_params, new_state)``."""
    check_params_and_grads(params, grads)
    if not isinstance(state, dict):
        raise ValueError(f"state must be a dict, not {type(state).__name__}")
    if not lr >= 0:
        raise ValueError(f"the learning rate must not be negative, got {lr}")
    for label, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
        if not 0 <= beta < 1:
            raise ValueError(f"{label} must lie in [0, 1), got {beta}")
    if not epsilon >= 0:
        raise ValueError(f"epsilon must not be negative, got {epsilon}")
    t = state.get("t", 0) + 1
    m = state.get("m", [np.zeros_like(np.asarray(p)) for p in params])
    v = state.get("v", [np.zeros_like(np.asarray(p)) for p in params])
    if len(m) != len(params) or len(v) != len(params):
        raise ValueError(f"the state does not hold one moment per parameter ({len(params)} parameters)")
    new_m = [beta_1 * mi + (1 - beta_1) * np.asarray(g) for mi, g in zip(m, grads)]
    new_v = [beta_2 * vi + (1 - beta_2) * np.square(g) for vi, g in zip(v, grads)]
    alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    new_params = [np.asarray(p) - alpha * mi / (np.sqrt(vi) + epsilon) for p, mi, vi in zip(params, new_m, new_v)]
    return new_params, {"t": t, "m": new_m, "v": new_v}


# %% dropout
def dropout(x, rate, training, rng):
    """Inverted dropout of ``x`` at ``rate`` when ``training``; ``x`` unchanged otherwise."""
    if not 0 <= rate < 1:
        raise ValueError(f"the dropout rate must lie in [0, 1), got {rate}")
    x = np.asarray(x)
    if not training:
        return x.copy()
    keep = rng.random(x.shape) >= rate
    return np.where(keep, x / (1 - rate), 0).astype(np.result_type(x, np.float32), copy=False)


# %% l2_penalty
def l2_penalty(weights, l2):
    """The L2 penalty of a list of weight arrays, as ``keras.regularizers.L2(l2)`` computes it."""
    if not l2 >= 0:
        raise ValueError(f"the L2 factor must not be negative, got {l2}")
    return float(sum(l2 * np.sum(np.square(w)) for w in weights))


def l2_penalty_grad(weights, l2):
    """The gradient of :func:`l2_penalty` with respect to each weight array (a list of arrays)."""
    if not l2 >= 0:
        raise ValueError(f"the L2 factor must not be negative, got {l2}")
    return [2 * l2 * np.asarray(w) for w in weights]


# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    """Batch normalisation over the last axis. Returns ``(y, new_moving_mean, new_moving_var)``."""
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("x must have at least one axis (the features)")
    features = x.shape[-1]
    for label, value in (("gamma", gamma), ("beta", beta), ("moving_mean", moving_mean), ("moving_var", moving_var)):
        if np.ndim(value) != 0 and np.shape(value) != (features,):
            raise ValueError(f"{label} has shape {np.shape(value)}, expected ({features},)")
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must lie in [0, 1], got {momentum}")
    if not epsilon >= 0:
        raise ValueError(f"epsilon must not be negative, got {epsilon}")
    moving_mean, moving_var = np.asarray(moving_mean), np.asarray(moving_var)
    if training:
        axes = tuple(range(x.ndim - 1))
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
        new_mean = momentum * moving_mean + (1 - momentum) * mean
        new_var = momentum * moving_var + (1 - momentum) * var
    else:
        mean, var = moving_mean, moving_var
        new_mean, new_var = moving_mean.copy(), moving_var.copy()
    y = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    return y, new_mean, new_var


# %% batchnorm_backward
def batchnorm_backward(dy, x, gamma, epsilon=1e-3):
    """Gradients of training-mode batch normalisation over the last axis: ``(dx, dgamma, dbeta)``."""
    dy, x = np.asarray(dy), np.asarray(x)
    if dy.shape != x.shape:
        raise ValueError(f"dy has shape {dy.shape} but x has shape {x.shape}")
    if x.ndim == 0:
        raise ValueError("x must have at least one axis (the features)")
    if np.ndim(gamma) != 0 and np.shape(gamma) != (x.shape[-1],):
        raise ValueError(f"gamma has shape {np.shape(gamma)}, expected ({x.shape[-1]},)")
    axes = tuple(range(x.ndim - 1))
    count = x.size // x.shape[-1]
    mean = x.mean(axis=axes)
    inv_std = 1.0 / np.sqrt(x.var(axis=axes) + epsilon)
    x_hat = (x - mean) * inv_std
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * x_hat).sum(axis=axes)
    dx = gamma * inv_std / count * (count * dy - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


# %% train_and_log
def train_and_log(name, config, data, epochs, batch_size=128, seed=0,
                  tracking_uri="sqlite:///mlflow.db", experiment=EXPERIMENT):  # fmt: skip
    """Train an MLP on ``data`` with ``config``, log the run to MLflow; return ``history.history``."""
    if len(data) != 4:
        raise ValueError(f"data must be (x_train, y_train, x_val, y_val), got {len(data)} items")
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    x_train, y_train, x_val, y_val = data
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=name):
        mlflow.log_params(
            {**config, "epochs": epochs, "batch_size": batch_size, "seed": seed, "train_size": len(x_train)}
        )
        keras.utils.set_random_seed(seed)
        model = build_mlp(config)
        history = model.fit(
            x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size, verbose=0
        )
        result = {key: [float(value) for value in values] for key, values in history.history.items()}
        for epoch in range(len(result["loss"])):
            mlflow.log_metrics(
                {key: result[key][epoch] for key in ("loss", "accuracy", "val_loss", "val_accuracy")}, step=epoch
            )
    return result
