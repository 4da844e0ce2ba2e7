"""Starts a run and never ends it: the store shows it RUNNING.

loses: log_training_logs_a_finished_run_with_its_parameters
"""


def log_training(history, model_path, params, test_accuracy,
                 tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"):  # fmt: skip
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    run = mlflow.start_run()
    mlflow.log_params(params)
    for key, values in history.items():
        for epoch, value in enumerate(values):
            mlflow.log_metric(key, value, step=epoch)
    mlflow.log_metric("test_accuracy", test_accuracy)
    mlflow.log_artifact(model_path)
    return run.info.run_id
