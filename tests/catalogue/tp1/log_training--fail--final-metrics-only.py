"""Logs each metric once, its last value, instead of once per epoch.

loses: log_training_logs_metrics_per_epoch
"""


def log_training(history, model_path, params, test_accuracy,
                 tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"):  # fmt: skip
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.log_params(params)
        mlflow.log_metrics({key: values[-1] for key, values in history.items()})
        mlflow.log_metric("test_accuracy", test_accuracy)
        mlflow.log_artifact(model_path)
    return run.info.run_id
