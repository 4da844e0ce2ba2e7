"""Hidden checks of ``train_and_log`` and of the handed-in tracking store (cell ``train_and_log_tests``).

Two kinds of evidence:

* the judge calls ``train_and_log`` in the sandbox on a small MNIST subset, with a fresh SQLite
  store of its own, and reads that store back (in a worker that runs no student code): one
  finished run with the parameters and the per-epoch metrics that the function returned;
* the store handed in, ``mlflow.db``, holds the experiment of the notebook: a finished run for
  every configuration, with a metric per epoch, in which Adam ends below plain SGD.
"""

import math
import uuid

import numpy as np
import pytest

from tpdl import data

pytestmark = pytest.mark.cell("train_and_log_tests")

STORE = "mlflow.db"
CONFIGURATIONS = (
    "sgd",
    "momentum",
    "nesterov",
    "rmsprop",
    "adam",
    "adam-dropout",
    "adam-l2",
    "adam-batchnorm",
)
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
CONFIG = {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.5, "nesterov": False,
          "dropout": 0.0, "l2": 0.0, "batch_norm": False}  # fmt: skip
EPOCHS, BATCH_SIZE, SEED, TRAIN, VAL = 3, 64, 3, 256, 128


def grading_data():
    mnist = data.load_mnist(source="fixture")
    x = mnist.x_train[: TRAIN + VAL].reshape(TRAIN + VAL, -1).astype("float32") / 255.0
    y = np.eye(10, dtype="float32")[mnist.y_train[: TRAIN + VAL]]
    return x[:TRAIN], y[:TRAIN], x[TRAIN:], y[TRAIN:]


@pytest.fixture(scope="module")
def graded_run(student):
    """The history ``train_and_log`` returned for the judge's run, and that run as its store holds it."""
    name = f"graded-{uuid.uuid4().hex[:8]}"
    history = student.call("train_and_log", name, CONFIG, grading_data(), EPOCHS, batch_size=BATCH_SIZE,
                           seed=SEED, tracking_uri="sqlite:///graded-runs.db", experiment="graded")  # fmt: skip
    runs = student.tracking_runs("graded-runs.db", written_by_call=True)
    named = [run for run in runs if run["name"] == name]
    assert len(named) == 1, (
        f"train_and_log should log exactly one run named after its name argument ({len(named)} found)"
    )
    return history, named[0]


def epoch_series(run: dict, key: str) -> list[float] | None:
    """The values of metric ``key``, one per epoch, if it was logged at consecutive steps."""
    points = run["metrics"].get(key)
    if not points:
        return None
    steps = [step for step, _ in points]
    if steps != list(range(steps[0], steps[0] + len(steps))) or steps[0] not in (0, 1):
        return None
    return [value for _, value in points]


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@pytest.mark.points(1)
def test_train_and_log_logs_a_finished_run_with_its_parameters(graded_run):
    _, run = graded_run
    assert run["experiment"] == "graded", "train_and_log should log into the experiment it is given"
    assert run["status"] == "FINISHED", (
        f"the run should be ended (FINISHED) when train_and_log returns, not {run['status']}"
    )
    expected = {**CONFIG, "epochs": EPOCHS, "batch_size": BATCH_SIZE, "seed": SEED, "train_size": TRAIN}
    missing = sorted(set(expected) - set(run["params"]))
    assert not missing, f"parameters missing from the run: {', '.join(missing)}"
    wrong = [
        key for key, value in expected.items()
        if run["params"][key] != str(value) and number(run["params"][key]) != number(str(value))
    ]  # fmt: skip
    assert not wrong, f"these parameters do not hold the values of the run: {', '.join(sorted(wrong))}"


@pytest.mark.points(1)
def test_train_and_log_logs_metrics_per_epoch(graded_run):
    history, run = graded_run
    assert isinstance(history, dict), (
        f"train_and_log should return history.history (a dict), not {type(history).__name__}"
    )
    for key in METRICS:
        series = epoch_series(run, key)
        assert series is not None and len(series) == EPOCHS, (
            f"the run should hold {key} once per epoch ({EPOCHS} epochs, at steps 0, 1, 2...)"
        )
        returned = history.get(key)
        assert isinstance(returned, list) and len(returned) == EPOCHS, (
            f"the history returned should hold {EPOCHS} values of {key}"
        )
        assert np.allclose(series, np.asarray(returned, dtype=float), rtol=1e-5), (
            f"the {key} logged differs from the {key} of the training that train_and_log returned"
        )


def handed_in_runs(student) -> dict[str, dict]:
    """The latest finished run of each name in the handed-in store."""
    latest: dict[str, dict] = {}
    for run in student.tracking_runs(STORE):  # newest first
        if run["status"] == "FINISHED" and run["name"] not in latest:
            latest[run["name"]] = run
    return latest


@pytest.mark.points(1)
def test_experiment_runs_handed_in(student):
    runs = handed_in_runs(student)
    missing = [name for name in CONFIGURATIONS if name not in runs]
    assert not missing, (
        f"{STORE} has no finished run for: {', '.join(missing)} (run the experiment and hand it in)"
    )
    for name in CONFIGURATIONS:
        run = runs[name]
        epochs = number(run["params"].get("epochs", ""))
        assert epochs and epochs >= 1, f"the run {name!r} in {STORE} does not record its number of epochs"
        for key in METRICS:
            series = epoch_series(run, key)
            assert series is not None and len(series) == epochs, (
                f"the run {name!r} in {STORE} should hold {key} once per epoch"
            )
            assert all(math.isfinite(v) for v in series), (
                f"the run {name!r} in {STORE} holds non-finite {key}"
            )


@pytest.mark.points(1)
def test_adam_ends_below_plain_sgd(student):
    runs = handed_in_runs(student)
    assert "adam" in runs and "sgd" in runs, f"{STORE} should hold finished runs named 'adam' and 'sgd'"
    finals = {}
    for name in ("adam", "sgd"):
        series = epoch_series(runs[name], "val_loss")
        assert series, f"the run {name!r} in {STORE} holds no val_loss per epoch"
        finals[name] = series[-1]
    assert finals["adam"] < finals["sgd"], (
        "in your experiment, Adam's final validation loss is not below plain SGD's: check the runs you "
        "handed in (same budget and seed for both)"
    )
