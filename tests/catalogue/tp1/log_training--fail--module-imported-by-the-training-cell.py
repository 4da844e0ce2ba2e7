"""Tags the run with the time it was logged, with the `time` module that only the training cell
(tagged skip-grading) imports: it works when the whole notebook runs, and raises NameError at grading.

loses: log_training_logs_a_finished_run_with_its_parameters, log_training_logs_metrics_per_epoch, log_training_logs_the_model_file
"""


def log_training(history, model_path, params, test_accuracy,
                 tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"):  # fmt: skip
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.set_tag("logged_at", time.strftime("%Y-%m-%d %H:%M:%S"))
        mlflow.log_params(params)
        for key, values in history.items():
            for epoch, value in enumerate(values):
                mlflow.log_metric(key, float(value), step=epoch)
        mlflow.log_metric("test_accuracy", float(test_accuracy))
        mlflow.log_artifact(model_path)
    return run.info.run_id
