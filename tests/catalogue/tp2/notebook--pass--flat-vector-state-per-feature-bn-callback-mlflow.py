"""All parameters packed in one flat vector (state as flat vectors), uniform-threshold dropout, per-feature batch-norm loops with the mean-form backward, MLflow fluent API logging from a Keras callback each epoch.

Written from the student release alone.
"""
# %% sgd_step
def _pack(arrays):
    """All ``arrays`` as one flat vector."""
    return np.concatenate([np.ravel(a) for a in arrays]) if len(arrays) else np.zeros(0)


def _unpack(vector, like):
    """``vector`` cut back into new arrays of the shapes of ``like``."""
    pieces, start = [], 0
    for a in like:
        size = int(np.size(a))
        pieces.append(vector[start:start + size].reshape(np.shape(a)).copy())
        start += size
    return pieces


def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False):
    """One SGD step (with optional momentum or Nesterov momentum). Returns ``(new_params, new_state)``."""
    check_params_and_grads(params, grads)
    if not isinstance(state, dict):
        raise ValueError("state must be a dict (empty at the first step)")
    if not lr >= 0:
        raise ValueError(f"learning rate {lr} is negative")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum {momentum} is outside [0, 1]")
    theta, g = _pack(params), _pack(grads)
    if momentum == 0.0:
        return _unpack(theta - lr * g, params), {}
    velocity = state.get("velocity", np.zeros_like(theta))
    if np.shape(velocity) != theta.shape:
        raise ValueError("the state's velocity does not match the parameters")
    velocity = momentum * velocity - lr * g
    theta = theta + momentum * velocity - lr * g if nesterov else theta + velocity
    return _unpack(theta, params), {"velocity": velocity}


# %% rmsprop_step
def _pack(arrays):
    """All ``arrays`` as one flat vector."""
    return np.concatenate([np.ravel(a) for a in arrays]) if len(arrays) else np.zeros(0)


def _unpack(vector, like):
    """``vector`` cut back into new arrays of the shapes of ``like``."""
    pieces, start = [], 0
    for a in like:
        size = int(np.size(a))
        pieces.append(vector[start:start + size].reshape(np.shape(a)).copy())
        start += size
    return pieces


def rmsprop_step(params, grads, state, lr, rho=0.9, epsilon=1e-7):
    """One RMSprop step. Returns ``(new_params, new_state)``."""
    check_params_and_grads(params, grads)
    if not isinstance(state, dict):
        raise ValueError("state must be a dict (empty at the first step)")
    if not lr >= 0:
        raise ValueError(f"learning rate {lr} is negative")
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho {rho} is outside [0, 1]")
    if not epsilon >= 0:
        raise ValueError(f"epsilon {epsilon} is negative")
    theta, g = _pack(params), _pack(grads)
    mean_square = state.get("mean_square", np.zeros_like(theta))
    if np.shape(mean_square) != theta.shape:
        raise ValueError("the state's running mean does not match the parameters")
    mean_square = rho * mean_square + (1.0 - rho) * g**2
    theta = theta - lr * g / np.sqrt(mean_square + epsilon)
    return _unpack(theta, params), {"mean_square": mean_square}


# %% adam_step
def _pack(arrays):
    """All ``arrays`` as one flat vector."""
    return np.concatenate([np.ravel(a) for a in arrays]) if len(arrays) else np.zeros(0)


def _unpack(vector, like):
    """``vector`` cut back into new arrays of the shapes of ``like``."""
    pieces, start = [], 0
    for a in like:
        size = int(np.size(a))
        pieces.append(vector[start:start + size].reshape(np.shape(a)).copy())
        start += size
    return pieces


def adam_step(params, grads, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """One Adam step. Returns ``(new_params, new_state)``."""
    check_params_and_grads(params, grads)
    if not isinstance(state, dict):
        raise ValueError("state must be a dict (empty at the first step)")
    if not lr >= 0:
        raise ValueError(f"learning rate {lr} is negative")
    if not (0.0 <= beta_1 < 1.0 and 0.0 <= beta_2 < 1.0):
        raise ValueError(f"beta_1 ({beta_1}) and beta_2 ({beta_2}) must lie in [0, 1)")
    if not epsilon >= 0:
        raise ValueError(f"epsilon {epsilon} is negative")
    theta, g = _pack(params), _pack(grads)
    m = state.get("m", np.zeros_like(theta))
    v = state.get("v", np.zeros_like(theta))
    if np.shape(m) != theta.shape or np.shape(v) != theta.shape:
        raise ValueError("the state's moments do not match the parameters")
    iterations = state.get("iterations", 0) + 1
    m = m + (g - m) * (1.0 - beta_1)
    v = v + (g**2 - v) * (1.0 - beta_2)
    alpha = lr * np.sqrt(1.0 - beta_2**iterations) / (1.0 - beta_1**iterations)
    theta = theta - alpha * m / (np.sqrt(v) + epsilon)
    return _unpack(theta, params), {"iterations": iterations, "m": m, "v": v}


# %% dropout
def dropout(x, rate, training, rng):
    """Inverted dropout of ``x`` at ``rate`` when ``training``; ``x`` unchanged otherwise."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate {rate} is outside [0, 1)")
    x = np.asarray(x)
    if not training:
        return np.copy(x)
    keep_probability = 1.0 - rate
    kept = rng.uniform(0.0, 1.0, size=x.shape) < keep_probability
    scale = np.asarray(1.0 / keep_probability, dtype=x.dtype if x.dtype.kind == "f" else float)
    return x * kept * scale


# %% l2_penalty
def l2_penalty(weights, l2):
    """The L2 penalty of a list of weight arrays, as ``keras.regularizers.L2(l2)`` computes it."""
    if not l2 >= 0:
        raise ValueError(f"the L2 factor {l2} is negative")
    flat = np.concatenate([np.ravel(w) for w in weights]) if len(weights) else np.zeros(0)
    return float(l2 * np.dot(flat, flat))


def l2_penalty_grad(weights, l2):
    """The gradient of :func:`l2_penalty` with respect to each weight array (a list of arrays)."""
    if not l2 >= 0:
        raise ValueError(f"the L2 factor {l2} is negative")
    return [np.multiply(w, 2.0 * l2) for w in weights]


# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    """Batch normalisation over the last axis. Returns ``(y, new_moving_mean, new_moving_var)``."""
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("x needs a last axis of features")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum {momentum} is outside [0, 1]")
    if not epsilon >= 0:
        raise ValueError(f"epsilon {epsilon} is negative")
    n_features = x.shape[-1]
    per_feature = []
    for label, value in (("gamma", gamma), ("beta", beta), ("moving_mean", moving_mean), ("moving_var", moving_var)):
        value = np.asarray(value, dtype=float)
        if value.shape not in ((), (n_features,)):
            raise ValueError(f"{label} should have shape ({n_features},), not {value.shape}")
        per_feature.append(np.broadcast_to(value, (n_features,)))
    gamma, beta, moving_mean, moving_var = per_feature
    columns = x.reshape(-1, n_features)
    y = np.empty(columns.shape, dtype=np.result_type(x, float))
    new_mean, new_var = np.empty(n_features), np.empty(n_features)
    for j in range(n_features):
        column = columns[:, j]
        if training:
            mean_j = column.mean()
            var_j = max(float(np.mean(column**2) - mean_j**2), 0.0)
            new_mean[j] = momentum * moving_mean[j] + (1.0 - momentum) * mean_j
            new_var[j] = momentum * moving_var[j] + (1.0 - momentum) * var_j
        else:
            mean_j, var_j = moving_mean[j], moving_var[j]
            new_mean[j], new_var[j] = moving_mean[j], moving_var[j]
        y[:, j] = gamma[j] * (column - mean_j) / np.sqrt(var_j + epsilon) + beta[j]
    return y.reshape(x.shape), new_mean, new_var


# %% batchnorm_backward
def batchnorm_backward(dy, x, gamma, epsilon=1e-3):
    """Gradients of training-mode batch normalisation over the last axis: ``(dx, dgamma, dbeta)``."""
    x, dy = np.asarray(x), np.asarray(dy)
    if x.ndim == 0:
        raise ValueError("x needs a last axis of features")
    if dy.shape != x.shape:
        raise ValueError(f"dy has shape {dy.shape}, x has shape {x.shape}: they must match")
    n_features = x.shape[-1]
    gamma = np.asarray(gamma, dtype=float)
    if gamma.shape not in ((), (n_features,)):
        raise ValueError(f"gamma should have shape ({n_features},), not {gamma.shape}")
    gamma = np.broadcast_to(gamma, (n_features,))
    columns, dcolumns = x.reshape(-1, n_features), dy.reshape(-1, n_features)
    dx = np.empty(columns.shape, dtype=np.result_type(x, dy, float))
    dgamma, dbeta = np.empty(n_features), np.empty(n_features)
    for j in range(n_features):
        column, dcolumn = columns[:, j], dcolumns[:, j]
        inv_std = 1.0 / np.sqrt(column.var() + epsilon)
        x_hat = (column - column.mean()) * inv_std
        dbeta[j] = dcolumn.sum()
        dgamma[j] = (dcolumn * x_hat).sum()
        # dL/dx = gamma / sigma * (dy - mean(dy) - x_hat * mean(dy * x_hat))
        dx[:, j] = gamma[j] * inv_std * (dcolumn - dcolumn.mean() - x_hat * (dcolumn * x_hat).mean())
    return dx.reshape(x.shape), dgamma, dbeta


# %% train_and_log
class _LogEpochToMlflow(keras.callbacks.Callback):
    """Log the four metrics of each epoch to the active MLflow run, as the epoch ends."""

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        mlflow.log_metrics(
            {key: float(logs[key]) for key in ("loss", "accuracy", "val_loss", "val_accuracy") if key in logs},
            step=epoch,
        )


def train_and_log(name, config, data, epochs, batch_size=128, seed=0,
                  tracking_uri="sqlite:///mlflow.db", experiment=EXPERIMENT):  # fmt: skip
    """Train an MLP on ``data`` with ``config``, log the run to MLflow; return ``history.history``."""
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    x_train, y_train, x_val, y_val = data
    mlflow.set_tracking_uri(tracking_uri)
    experiment_id = mlflow.set_experiment(experiment).experiment_id
    mlflow.start_run(experiment_id=experiment_id, run_name=name)
    try:
        for key, value in config.items():
            mlflow.log_param(key, value)
        mlflow.log_param("epochs", epochs)
        mlflow.log_param("batch_size", batch_size)
        mlflow.log_param("seed", seed)
        mlflow.log_param("train_size", len(x_train))
        keras.utils.set_random_seed(seed)
        model = build_mlp(config)
        history = model.fit(
            x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size,
            verbose=0, callbacks=[_LogEpochToMlflow()],
        )
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")
    return {key: [float(value) for value in values] for key, values in history.history.items()}
