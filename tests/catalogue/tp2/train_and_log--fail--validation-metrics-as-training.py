"""Logs the validation figures under the training metrics' names.

loses: train_and_log_logs_metrics_per_epoch
"""


def train_and_log(name, config, data, epochs, batch_size=128, seed=0,
                  tracking_uri="sqlite:///mlflow.db", experiment=EXPERIMENT):  # fmt: skip
    x_train, y_train, x_val, y_val = data
    keras.utils.set_random_seed(seed)
    model = build_mlp(config)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=name):
        mlflow.log_params({**config, "epochs": epochs, "batch_size": batch_size, "seed": seed,
                           "train_size": len(x_train)})  # fmt: skip
        history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                            batch_size=batch_size, verbose=0)  # fmt: skip
        h = history.history
        for epoch in range(epochs):
            mlflow.log_metrics({"loss": h["val_loss"][epoch], "accuracy": h["val_accuracy"][epoch],
                                "val_loss": h["val_loss"][epoch], "val_accuracy": h["val_accuracy"][epoch]},
                               step=epoch)  # fmt: skip
    return h
