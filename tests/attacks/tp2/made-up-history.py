"""A train_and_log that logs and returns believable curves without training anything.

base: reference
loses: train_and_log_logs_metrics_per_epoch
proof: is not what training build_mlp(config) on the data it was given gives
"""


def train_and_log(name, config, data, epochs, batch_size=128, seed=0,
                  tracking_uri="sqlite:///mlflow.db", experiment=EXPERIMENT):  # fmt: skip
    history = {"loss": [2.0 * 0.8**e for e in range(epochs)], "accuracy": [0.5 + 0.1 * e for e in range(epochs)],
               "val_loss": [2.1 * 0.8**e for e in range(epochs)], "val_accuracy": [0.45 + 0.1 * e for e in range(epochs)]}  # fmt: skip
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=name):
        mlflow.log_params({**config, "epochs": epochs, "batch_size": batch_size, "seed": seed, "train_size": len(data[0])})
        for epoch in range(epochs):
            mlflow.log_metrics({key: values[epoch] for key, values in history.items()}, step=epoch)
    return history
