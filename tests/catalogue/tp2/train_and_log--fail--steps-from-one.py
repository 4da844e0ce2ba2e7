"""Logs the per-epoch metrics with step = epoch + 1 (from 1), not from 0.

loses: train_and_log_logs_metrics_per_epoch
"""
def train_and_log(name, config, data, epochs, batch_size=128, seed=0,
                  tracking_uri="sqlite:///mlflow.db", experiment=EXPERIMENT):  # fmt: skip
    """Train an MLP on ``data`` with ``config``, log the run to MLflow; return ``history.history``."""
    x_train, y_train, x_val, y_val = data
    keras.utils.set_random_seed(seed)
    model = build_mlp(config)
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                        batch_size=batch_size, verbose=0)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=name):
        mlflow.log_params({**config, "epochs": epochs, "batch_size": batch_size, "seed": seed,
                           "train_size": len(x_train)})
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            for epoch, value in enumerate(history.history[key]):
                mlflow.log_metric(key, float(value), step=epoch + 1)
    return {k: [float(v) for v in vs] for k, vs in history.history.items()}
