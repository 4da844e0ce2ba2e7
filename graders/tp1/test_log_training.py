"""Hidden checks of ``log_training`` and of the handed-in MLflow run (grade cell ``log_training_tests``).

The judge calls ``log_training`` in the sandbox with a store of its own and reads it back; the
store handed in must hold the notebook's real training run, with its model file.
"""

import uuid

import pytest

from tpdl import grading
from tpdl.core import i18n, manifest
from tpdl.grading import tracking

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)

MANIFEST = manifest.beside(__file__)

pytestmark = pytest.mark.cell("log_training_tests")

COURSE_ACCURACY = MANIFEST.thresholds["course_accuracy"]
MODEL = "mnist_dense.keras"
HISTORY = {
    "loss": [0.5, 0.3, 0.2],
    "accuracy": [0.85, 0.9, 0.93],
    "val_loss": [0.4, 0.3, 0.25],
    "val_accuracy": [0.88, 0.91, 0.92],
}


@pytest.fixture(scope="module")
def graded_run(student):
    model = student.build_model("build_dense_model")
    params = {"hidden_units": "judge", "optimizer": "Adam", "epochs": 3, "tag": uuid.uuid4().hex[:8]}
    student.give_file("graded-runs.db", tracking.empty_store())  # MLflow's tables made already
    run_id = student.call(
        "log_training",
        HISTORY,
        model.worker_path,
        params,
        0.9321,
        tracking_uri="sqlite:///graded-runs.db",
        experiment="graded",
    )
    assert isinstance(run_id, str) and run_id, _("log_training should return the run's id (a string)")
    runs = [
        run
        for run in student.tracking_runs("graded-runs.db", written_by_call=True)
        if run["run_id"] == run_id
    ]
    assert runs, _("the run id returned by log_training is not in the store it was given")
    return runs[0], params, model.worker_path


def series(run, key):
    points = run["metrics"].get(key, [])
    return [value for __, value in sorted(points)]


@pytest.mark.points(1)
def test_log_training_logs_a_finished_run_with_its_parameters(graded_run):
    run, params, __ = graded_run
    assert run["experiment"] == "graded", _("log_training should log into the experiment it is given")
    assert run["status"] == "FINISHED", _(
        "the run should be ended when log_training returns, not {status}", status=run["status"]
    )
    wrong = sorted(k for k, v in params.items() if run["params"].get(k) != str(v))
    assert not wrong, _("these parameters are missing or wrong in the run: {params}", params=", ".join(wrong))


@pytest.mark.points(1)
def test_log_training_logs_metrics_per_epoch(graded_run):
    run, __, __ = graded_run
    for key, values in HISTORY.items():
        assert series(run, key) == pytest.approx(values, rel=lib.FLOAT64["rtol"]), _(
            "the run should hold {key} once per epoch", key=key
        )
    assert series(run, "test_accuracy") == pytest.approx([0.9321]), _("the run should hold test_accuracy")


@pytest.mark.points(1)
def test_log_training_logs_the_model_file(student, graded_run):
    run, __, model_path = graded_run
    artifact = f"mlruns/{run['experiment_id']}/{run['run_id']}/artifacts/{model_path.rsplit('/', 1)[-1]}"
    logged = student.worker_file(artifact)
    assert logged is not None, _(
        "the model file is not among the run's artifacts (mlflow.log_artifact, in the store's default "
        "artifact folder mlruns/)"
    )
    assert logged == student.worker_file(model_path), _(
        "the run's artifact is not the model file log_training was given (log that file itself)"
    )


@pytest.mark.points(1)
def test_training_run_handed_in(student, measured):
    runs = [
        r
        for r in student.tracking_runs("mlflow.db")
        if r["experiment"] == "tp1-mnist" and r["status"] == "FINISHED"
    ]
    assert runs, _("mlflow.db holds no finished run in the experiment tp1-mnist (run the training cell)")
    run = runs[0]  # the newest
    accuracy = series(run, "test_accuracy")
    assert accuracy and accuracy[-1] >= COURSE_ACCURACY, (
        _(
            "the latest run of tp1-mnist records a test accuracy of {accuracy}; it should reach {course}",
            accuracy=accuracy[-1],
            course=COURSE_ACCURACY,
        )
        if accuracy
        else _(
            "the latest run of tp1-mnist records a test accuracy of nothing; it should reach {course}",
            course=COURSE_ACCURACY,
        )
    )
    epochs = len(series(run, "val_loss"))
    assert epochs >= 1 and len(series(run, "loss")) == epochs, _(
        "the run should hold loss and val_loss per epoch"
    )
    artifact = f"mlruns/{run['experiment_id']}/{run['run_id']}/artifacts/mnist_dense.keras"
    assert student.has_file(artifact), _(
        "hand in the run's artifacts: {artifact} is missing", artifact=artifact
    )
    assert student.file_digest(artifact) == student.file_digest(MODEL), _(
        "the model file of the latest tp1-mnist run is not the {model} you handed in: hand in the run "
        "that produced your model (run the training cell once more, then hand in the folder as it is)",
        model=MODEL,
    )
    agreement = measured.agreement
    assert abs(accuracy[-1] - measured.test.value) <= agreement, _(
        "the latest run of tp1-mnist records a test accuracy of {accuracy:.4f}, but {model} "
        "classifies {measured} correctly: the run should record what the model it "
        "logged really does",
        accuracy=accuracy[-1],
        model=MODEL,
        measured=measured.test.described(),
    )
