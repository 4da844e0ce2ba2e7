"""One mlflow.log_metrics call per epoch, with every metric of that epoch."""


def log_training(history, model_path, params, test_accuracy,
                 tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"):  # fmt: skip
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    epochs = len(next(iter(history.values())))
    with mlflow.start_run() as run:
        mlflow.log_params(params)
        for epoch in range(epochs):
            mlflow.log_metrics({key: float(values[epoch]) for key, values in history.items()}, step=epoch)
        mlflow.log_metrics({"test_accuracy": float(test_accuracy)})
        mlflow.log_artifact(model_path)
        run_id = run.info.run_id
    return run_id
