"""Per-image loops and a list-comprehension one-hot, a functional-API MLP with batch normalisation and Nadam, early stopping, and MlflowClient with log_batch.

Written from the student release alone.
"""
# %% preprocess
def preprocess(images, labels):
    """Flatten and scale ``images``; one-hot encode ``labels``. Returns ``(x, y)``."""
    n = len(images)
    x = np.empty((n, 28 * 28), dtype=np.float32)
    for i in range(n):
        x[i] = np.asarray(images[i], dtype=np.float32).ravel() / 255.0
    y = np.array(
        [[1.0 if k == int(label) else 0.0 for k in range(10)] for label in labels],
        dtype=np.float32,
    ).reshape(n, 10)
    return x, y
# %% build_dense_model
def build_dense_model(input_dim=784, n_classes=10):
    """A compiled dense classifier of ``input_dim`` features into ``n_classes`` classes."""
    inputs = keras.Input(shape=(input_dim,), name="pixels")
    h = inputs
    for units in (400, 200):
        h = keras.layers.Dense(units, activation="relu")(h)
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Dropout(0.25)(h)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="probabilities")(h)
    model = keras.Model(inputs, outputs, name="mnist_dense")
    model.compile(
        optimizer=keras.optimizers.Nadam(learning_rate=1e-3),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    return model
# %% log_training
def log_training(history, model_path, params, test_accuracy,
                 tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"):  # fmt: skip
    """Log params, per-epoch metrics, the test accuracy and the model file as one MLflow run; its id."""
    import time

    from mlflow.entities import Metric, Param, RunStatus

    client = mlflow.MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found is not None else client.create_experiment(experiment)
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    try:
        now = int(time.time() * 1000)
        metrics = [
            Metric(name, float(value), now, step)
            for name, values in history.items()
            for step, value in enumerate(values)
        ]
        metrics.append(Metric("test_accuracy", float(test_accuracy), now, 0))
        param_list = [Param(str(key), str(value)) for key, value in params.items()]
        for start in range(0, max(len(metrics), len(param_list)), 100):
            client.log_batch(run_id, metrics=metrics[start:start + 100], params=param_list[start:start + 100])
        client.log_artifact(run_id, model_path)
    except BaseException:
        client.set_terminated(run_id, RunStatus.to_string(RunStatus.FAILED))
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id
# %% train
def train(model, x, y, budget):
    """Fit ``model`` on ``(x, y)`` with a 10 % validation split for the budget's epochs; return the History."""
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    return model.fit(
        x,
        y,
        validation_split=0.1,
        batch_size=128,
        epochs=budget.pick(full=15, ci=3),
        callbacks=[stop],
        verbose=2,
    )
