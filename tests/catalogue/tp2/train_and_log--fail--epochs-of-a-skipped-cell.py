"""Logs the metrics of `range(EPOCHS)`: `EPOCHS` is set only by the visible tests' cell, tagged
skip-grading, so it works when the whole notebook runs and raises NameError at grading.

loses: train_and_log_logs_a_finished_run_with_its_parameters, train_and_log_logs_metrics_per_epoch
"""


def train_and_log(name, config, data, epochs, batch_size=128, seed=0,
                  tracking_uri="sqlite:///mlflow.db", experiment=EXPERIMENT):  # fmt: skip
    x_train, y_train, x_val, y_val = data
    keras.utils.set_random_seed(seed)
    model = build_mlp(config)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=name):
        mlflow.log_params(
            {**config, "epochs": epochs, "batch_size": batch_size, "seed": seed, "train_size": len(x_train)}
        )
        history = model.fit(
            x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size, verbose=0
        )
        for epoch in range(EPOCHS):
            mlflow.log_metrics(
                {key: float(values[epoch]) for key, values in history.history.items()}, step=epoch
            )
    return {key: [float(v) for v in values] for key, values in history.history.items()}
