"""NumPy vectorised preprocessing, a Sequential 512-256 MLP with dropout and Adam, a plain fit, and MLflow's fluent API with log_metrics per epoch.

Written from the student release alone.
"""
# %% preprocess
def preprocess(images, labels):
    """Flatten and scale ``images``; one-hot encode ``labels``. Returns ``(x, y)``."""
    images = np.asarray(images)
    labels = np.asarray(labels).astype(np.int64)
    x = images.reshape(len(images), 28 * 28).astype(np.float32) / np.float32(255.0)
    y = np.eye(10, dtype=np.float32)[labels]
    return x, y
# %% build_dense_model
def build_dense_model(input_dim=784, n_classes=10):
    """A compiled dense classifier of ``input_dim`` features into ``n_classes`` classes."""
    model = keras.Sequential(
        [
            keras.Input(shape=(input_dim,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
# %% log_training
def log_training(history, model_path, params, test_accuracy,
                 tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"):  # fmt: skip
    """Log params, per-epoch metrics, the test accuracy and the model file as one MLflow run; its id."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.log_params(params)
        n_epochs = max((len(values) for values in history.values()), default=0)
        for epoch in range(n_epochs):
            mlflow.log_metrics(
                {name: float(values[epoch]) for name, values in history.items() if epoch < len(values)},
                step=epoch,
            )
        mlflow.log_metric("test_accuracy", float(test_accuracy))
        mlflow.log_artifact(model_path)
    return run.info.run_id
# %% train
def train(model, x, y, budget):
    """Fit ``model`` on ``(x, y)`` with a 10 % validation split for the budget's epochs; return the History."""
    epochs = budget.pick(full=15, ci=2)
    return model.fit(x, y, validation_split=0.1, batch_size=128, epochs=epochs, verbose=2)
