"""Logs parameters and metrics but not the model file.

loses: log_training_logs_the_model_file
"""


def log_training(history, model_path, params, test_accuracy,
                 tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"):  # fmt: skip
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.log_params(params)
        for key, values in history.items():
            for epoch, value in enumerate(values):
                mlflow.log_metric(key, value, step=epoch)
        mlflow.log_metric("test_accuracy", test_accuracy)
    return run.info.run_id
