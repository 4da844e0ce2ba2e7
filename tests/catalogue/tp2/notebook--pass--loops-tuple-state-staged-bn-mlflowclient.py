"""Explicit per-parameter loops with per-parameter state tuples, binomial dropout mask, batch-norm backward by the staged chain rule, MlflowClient with log_batch.

Written from the student release alone.
"""
# %% sgd_step
def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False):
    """One SGD step (with optional momentum or Nesterov momentum). Returns ``(new_params, new_state)``."""
    check_params_and_grads(params, grads)
    if lr < 0 or lr != lr:
        raise ValueError(f"lr must be a non-negative number, not {lr}")
    if momentum < 0 or momentum > 1 or momentum != momentum:
        raise ValueError(f"momentum must be between 0 and 1, not {momentum}")
    old_velocities = state.get("velocity")
    if old_velocities is not None and len(old_velocities) != len(params):
        raise ValueError("the state does not match the parameters (wrong number of velocities)")
    new_params = []
    new_velocities = []
    for number in range(len(params)):
        theta = np.array(params[number])
        g = np.array(grads[number])
        if momentum == 0:
            new_params.append(theta - lr * g)
            continue
        if old_velocities is None:
            v = np.zeros_like(theta)
        else:
            v = np.array(old_velocities[number])
        v = momentum * v - lr * g
        if nesterov:
            theta = theta + momentum * v - lr * g
        else:
            theta = theta + v
        new_params.append(theta)
        new_velocities.append(v)
    new_state = {}
    if momentum != 0:
        new_state["velocity"] = tuple(new_velocities)
    return new_params, new_state


# %% rmsprop_step
def rmsprop_step(params, grads, state, lr, rho=0.9, epsilon=1e-7):
    """One RMSprop step. Returns ``(new_params, new_state)``."""
    check_params_and_grads(params, grads)
    if lr < 0 or lr != lr:
        raise ValueError(f"lr must be a non-negative number, not {lr}")
    if rho < 0 or rho > 1 or rho != rho:
        raise ValueError(f"rho must be between 0 and 1, not {rho}")
    if epsilon < 0 or epsilon != epsilon:
        raise ValueError(f"epsilon must be a non-negative number, not {epsilon}")
    old = state.get("mean_square")
    if old is not None and len(old) != len(params):
        raise ValueError("the state does not match the parameters (wrong number of running means)")
    new_params = []
    new_means = []
    for number in range(len(params)):
        theta = np.array(params[number])
        g = np.array(grads[number])
        s = np.zeros_like(theta) if old is None else np.array(old[number])
        s = rho * s + (1 - rho) * g * g
        theta = theta - lr * g / np.sqrt(s + epsilon)
        new_params.append(theta)
        new_means.append(s)
    return new_params, {"mean_square": tuple(new_means)}


# %% adam_step
def adam_step(params, grads, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """One Adam step. Returns ``(new_params, new_state)``."""
    check_params_and_grads(params, grads)
    if lr < 0 or lr != lr:
        raise ValueError(f"lr must be a non-negative number, not {lr}")
    if beta_1 < 0 or beta_1 >= 1 or beta_1 != beta_1:
        raise ValueError(f"beta_1 must be in [0, 1), not {beta_1}")
    if beta_2 < 0 or beta_2 >= 1 or beta_2 != beta_2:
        raise ValueError(f"beta_2 must be in [0, 1), not {beta_2}")
    if epsilon < 0 or epsilon != epsilon:
        raise ValueError(f"epsilon must be a non-negative number, not {epsilon}")
    moments = state.get("moments")  # one (m, v) tuple per parameter
    if moments is not None and len(moments) != len(params):
        raise ValueError("the state does not match the parameters (wrong number of moments)")
    t = state.get("step", 0) + 1
    alpha = lr * (1 - beta_2**t) ** 0.5 / (1 - beta_1**t)
    new_params = []
    new_moments = []
    for number in range(len(params)):
        theta = np.array(params[number])
        g = np.array(grads[number])
        if moments is None:
            m = np.zeros_like(theta)
            v = np.zeros_like(theta)
        else:
            m = np.array(moments[number][0])
            v = np.array(moments[number][1])
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        theta = theta - alpha * m / (np.sqrt(v) + epsilon)
        new_params.append(theta)
        new_moments.append((m, v))
    return new_params, {"step": t, "moments": new_moments}


# %% dropout
def dropout(x, rate, training, rng):
    """Inverted dropout of ``x`` at ``rate`` when ``training``; ``x`` unchanged otherwise."""
    if not (rate >= 0 and rate < 1):
        raise ValueError(f"rate must be in [0, 1), not {rate}")
    if not training:
        return np.array(x, copy=True)
    x = np.asarray(x)
    mask = rng.binomial(1, 1 - rate, size=x.shape)
    out = x * mask / (1 - rate)
    if np.issubdtype(x.dtype, np.floating):
        out = out.astype(x.dtype)
    return out


# %% l2_penalty
def l2_penalty(weights, l2):
    """The L2 penalty of a list of weight arrays, as ``keras.regularizers.L2(l2)`` computes it."""
    if l2 < 0 or l2 != l2:
        raise ValueError(f"l2 must not be negative, not {l2}")
    total = 0.0
    for w in weights:
        w = np.asarray(w, dtype=float)
        total += l2 * float(np.sum(w * w))
    return total


def l2_penalty_grad(weights, l2):
    """The gradient of :func:`l2_penalty` with respect to each weight array (a list of arrays)."""
    if l2 < 0 or l2 != l2:
        raise ValueError(f"l2 must not be negative, not {l2}")
    gradients = []
    for w in weights:
        gradients.append(2.0 * l2 * np.asarray(w, dtype=float))
    return gradients


# %% batchnorm_forward
def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    """Batch normalisation over the last axis. Returns ``(y, new_moving_mean, new_moving_var)``."""
    x = np.asarray(x, dtype=float)
    if x.ndim < 1:
        raise ValueError("x must be an array of shape (..., D)")
    if momentum < 0 or momentum > 1 or momentum != momentum:
        raise ValueError(f"momentum must be between 0 and 1, not {momentum}")
    if epsilon < 0 or epsilon != epsilon:
        raise ValueError(f"epsilon must not be negative, not {epsilon}")
    d = x.shape[-1]
    vectors = {"gamma": gamma, "beta": beta, "moving_mean": moving_mean, "moving_var": moving_var}
    for label, value in vectors.items():
        if np.shape(value) not in ((), (d,)):
            raise ValueError(f"{label} should have shape ({d},), not {np.shape(value)}")
    # All the axes but the last are folded into one: rows are samples, columns features.
    rows = x.reshape(-1, d)
    moving_mean = np.array(moving_mean, dtype=float)
    moving_var = np.array(moving_var, dtype=float)
    if training:
        n = rows.shape[0]
        mean = rows.sum(axis=0) / n
        var = ((rows - mean) ** 2).sum(axis=0) / n
        new_moving_mean = momentum * moving_mean + (1 - momentum) * mean
        new_moving_var = momentum * moving_var + (1 - momentum) * var
    else:
        mean = moving_mean
        var = moving_var
        new_moving_mean = moving_mean
        new_moving_var = moving_var
    x_hat = (rows - mean) / np.sqrt(var + epsilon)
    y = (np.asarray(gamma, dtype=float) * x_hat + np.asarray(beta, dtype=float)).reshape(x.shape)
    return y, new_moving_mean, new_moving_var


# %% batchnorm_backward
def batchnorm_backward(dy, x, gamma, epsilon=1e-3):
    """Gradients of training-mode batch normalisation over the last axis: ``(dx, dgamma, dbeta)``."""
    x = np.asarray(x, dtype=float)
    dy = np.asarray(dy, dtype=float)
    if x.shape != dy.shape:
        raise ValueError(f"dy should have the shape of x {x.shape}, not {dy.shape}")
    if x.ndim < 1:
        raise ValueError("x must be an array of shape (..., D)")
    d = x.shape[-1]
    if np.shape(gamma) not in ((), (d,)):
        raise ValueError(f"gamma should have shape ({d},), not {np.shape(gamma)}")
    gamma = np.asarray(gamma, dtype=float)
    rows = x.reshape(-1, d)
    drows = dy.reshape(-1, d)
    n = rows.shape[0]
    # Forward, stage by stage.
    mean = rows.sum(axis=0) / n
    centred = rows - mean
    var = (centred**2).sum(axis=0) / n
    std = np.sqrt(var + epsilon)
    inv_std = 1.0 / std
    x_hat = centred * inv_std
    # Backward through y = gamma * x_hat + beta.
    dbeta = drows.sum(axis=0)
    dgamma = (drows * x_hat).sum(axis=0)
    dx_hat = drows * gamma
    # x_hat = centred * inv_std
    dinv_std = (dx_hat * centred).sum(axis=0)
    dcentred = dx_hat * inv_std
    # inv_std = 1 / std, std = sqrt(var + epsilon)
    dstd = -dinv_std / std**2
    dvar = dstd * 0.5 / std
    # var = sum(centred ** 2) / n
    dcentred = dcentred + 2.0 * centred * dvar / n
    # centred = rows - mean
    dmean = -dcentred.sum(axis=0)
    drows_in = dcentred
    # mean = sum(rows) / n
    drows_in = drows_in + dmean / n
    return drows_in.reshape(x.shape), dgamma, dbeta


# %% train_and_log
def train_and_log(name, config, data, epochs, batch_size=128, seed=0,
                  tracking_uri="sqlite:///mlflow.db", experiment=EXPERIMENT):  # fmt: skip
    """Train an MLP on ``data`` with ``config``, log the run to MLflow; return ``history.history``."""
    if not isinstance(epochs, (int, np.integer)) or epochs <= 0:
        raise ValueError(f"epochs must be a positive integer, not {epochs!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
    x_train, y_train, x_val, y_val = data
    import time

    from mlflow.entities import Metric, Param

    client = mlflow.MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = client.create_experiment(experiment) if found is None else found.experiment_id
    run_id = client.create_run(experiment_id, run_name=name).info.run_id
    try:
        values = dict(config)
        values.update(epochs=epochs, batch_size=batch_size, seed=seed, train_size=len(x_train))
        client.log_batch(run_id, params=[Param(key, str(value)) for key, value in values.items()])

        keras.utils.set_random_seed(seed)
        model = build_mlp(config)
        history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                            batch_size=batch_size, verbose=0)  # fmt: skip
        result = {}
        for key, series in history.history.items():
            result[key] = [float(value) for value in series]

        now = int(time.time() * 1000)
        metrics = []
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            for epoch, value in enumerate(result[key]):
                metrics.append(Metric(key, value, now, epoch))
        client.log_batch(run_id, metrics=metrics)
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return result

