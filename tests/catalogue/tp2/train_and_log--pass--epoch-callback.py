"""Logs from a Keras callback at the end of each epoch, as training goes."""


def train_and_log(name, config, data, epochs, batch_size=128, seed=0,
                  tracking_uri="sqlite:///mlflow.db", experiment=EXPERIMENT):  # fmt: skip
    x_train, y_train, x_val, y_val = data
    keras.utils.set_random_seed(seed)
    model = build_mlp(config)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    log_epoch = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: mlflow.log_metrics(
            {k: float(v) for k, v in logs.items()}, step=epoch
        )
    )
    with mlflow.start_run(run_name=name):
        mlflow.log_params(config)
        mlflow.log_params(
            {"epochs": epochs, "batch_size": batch_size, "seed": seed, "train_size": x_train.shape[0]}
        )
        history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                            batch_size=batch_size, verbose=0, callbacks=[log_epoch])  # fmt: skip
    return {k: [float(v) for v in values] for k, values in history.history.items()}
