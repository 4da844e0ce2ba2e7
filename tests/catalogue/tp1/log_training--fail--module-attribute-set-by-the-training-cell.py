"""Logs each metric through `np.FLOAT`, an attribute that only the training cell (tagged
skip-grading) gives numpy: it works when the whole notebook runs, and raises AttributeError at grading.

loses: log_training_logs_a_finished_run_with_its_parameters, log_training_logs_metrics_per_epoch, log_training_logs_the_model_file

apply: edit
"""

import nbformat

LOG_TRAINING = """def log_training(history, model_path, params, test_accuracy,
                 tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"):
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.log_params(params)
        for key, values in history.items():
            for epoch, value in enumerate(values):
                mlflow.log_metric(key, np.FLOAT(value), step=epoch)
        mlflow.log_metric("test_accuracy", np.FLOAT(test_accuracy))
        mlflow.log_artifact(model_path)
    return run.info.run_id
"""


def edit(folder):
    path = folder / "tp1.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "log_training":
            cell.source = LOG_TRAINING
        elif "skip-grading" in cell.metadata.get("tags", []) and "run_id = log_training(" in cell.source:
            cell.source = "np.FLOAT = float\n" + cell.source
    nbformat.write(notebook, path)
