"""MLflow's client API: an explicit run, a batch of metrics, an explicit end."""


def train_and_log(name, config, data, epochs, batch_size=128, seed=0,
                  tracking_uri="sqlite:///mlflow.db", experiment=EXPERIMENT):  # fmt: skip
    from mlflow.entities import Metric, Param

    x_train, y_train, x_val, y_val = data
    keras.utils.set_random_seed(seed)
    client = mlflow.MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    run = client.create_run(experiment_id, run_name=name)
    settings = {
        **config,
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "train_size": len(x_train),
    }
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in settings.items()])
    history = build_mlp(config).fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                                    batch_size=batch_size, verbose=0).history  # fmt: skip
    metrics = [
        Metric(k, float(v), 0, epoch) for k, values in history.items() for epoch, v in enumerate(values)
    ]
    client.log_batch(run.info.run_id, metrics=metrics)
    client.set_terminated(run.info.run_id)
    return history
