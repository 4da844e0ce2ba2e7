"""MLflow's client API: an explicit run, batches of metrics, an explicit end."""


def log_training(history, model_path, params, test_accuracy,
                 tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"):  # fmt: skip
    from mlflow.entities import Metric

    client = mlflow.MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    run = client.create_run(found.experiment_id if found else client.create_experiment(experiment))
    run_id = run.info.run_id
    for key, value in params.items():
        client.log_param(run_id, key, value)
    metrics = [Metric(k, float(v), 0, step) for k, values in history.items() for step, v in enumerate(values)]
    client.log_batch(run_id, metrics=metrics + [Metric("test_accuracy", float(test_accuracy), 0, 0)])
    client.log_artifact(run_id, model_path)
    client.set_terminated(run_id)
    return run_id
