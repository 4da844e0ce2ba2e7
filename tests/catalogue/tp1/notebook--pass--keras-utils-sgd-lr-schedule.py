"""Keras utilities (to_categorical) and a Flatten-free reshape, a Sequential grown with add() trained by Nesterov SGD with ReduceLROnPlateau, and one fluent MLflow run opened by experiment id with log_metric per step.

Written from the student release alone.
"""
# %% preprocess
def preprocess(images, labels):
    """Flatten and scale ``images``; one-hot encode ``labels``. Returns ``(x, y)``."""
    pixels = np.array(images, dtype=np.float32, copy=True)
    x = np.divide(pixels.reshape(-1, 784), 255.0, dtype=np.float32)
    y = keras.utils.to_categorical(np.asarray(labels, dtype=np.int64), num_classes=10).astype(np.float32)
    return x, y.reshape(-1, 10)
# %% build_dense_model
def build_dense_model(input_dim=784, n_classes=10):
    """A compiled dense classifier of ``input_dim`` features into ``n_classes`` classes."""
    model = keras.Sequential(name="mnist_mlp")
    model.add(keras.Input(shape=(input_dim,)))
    for units in (512, 512, 128):
        model.add(keras.layers.Dense(units, activation="relu", kernel_initializer="he_normal"))
        model.add(keras.layers.Dropout(0.3))
    model.add(keras.layers.Dense(n_classes, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
# %% log_training
def log_training(history, model_path, params, test_accuracy,
                 tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"):  # fmt: skip
    """Log params, per-epoch metrics, the test accuracy and the model file as one MLflow run; its id."""
    mlflow.set_tracking_uri(tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found is not None else mlflow.create_experiment(experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name="mnist-dense") as run:
        for key, value in params.items():
            mlflow.log_param(key, value)
        for name, values in history.items():
            for step, value in enumerate(values):
                mlflow.log_metric(name, float(value), step=step)
        mlflow.log_metric("test_accuracy", float(test_accuracy))
        mlflow.log_artifact(model_path)
        run_id = run.info.run_id
    return run_id
# %% train
def train(model, x, y, budget):
    """Fit ``model`` on ``(x, y)`` with a 10 % validation split for the budget's epochs; return the History."""
    schedule = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=1e-4)
    history = model.fit(
        x,
        y,
        batch_size=128,
        epochs=budget.pick(full=12, ci=1),
        validation_split=0.1,
        shuffle=True,
        callbacks=[schedule],
        verbose=2,
    )
    return history
