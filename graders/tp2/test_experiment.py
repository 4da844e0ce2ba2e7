"""Hidden checks of ``train_and_log`` and of the handed-in tracking store (cell ``train_and_log_tests``).

Two kinds of evidence, neither taken on trust:

* the judge calls ``train_and_log`` in the sandbox on a small MNIST subset whose pixels and
  classes it shuffled with a seed drawn now (no student holds those images), with a fresh SQLite
  store of its own, and reads that store back (in a worker that runs no student code): one
  finished run with the parameters and the per-epoch metrics that the function returned, and
  those metrics are the ones the judge's own run of the same network gives (``tpdl.experiments``,
  in a worker that runs no student code);
* the store handed in, ``mlflow.db``, holds the experiment of the notebook: a finished run for
  every configuration, with a metric per epoch, in which Adam ends below plain SGD; the judge
  reruns the first epoch of ``adam``, ``sgd`` and one configuration drawn now from the runs'
  recorded settings and compares, so that a store written by hand earns nothing.
"""

import math
import secrets
import uuid

import numpy as np
import pytest

from tpdl import data, grading, i18n, tracking

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)

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
# The judge's run of the same network, seed and data gives the same numbers on the same machine;
# 5 % leaves room for another order of operations (a metric averaged differently), far less than
# what a history made up without training misses by.
REPLICA_RTOL = 0.05
# The handed-in runs' first epoch, rerun by the judge from their recorded settings on the same
# MNIST images: the same software gives the same numbers, another processor differs in the
# fourth digit. 0.5 %: a store written by hand with Adam's loss guessed at 0.25 (the truth is
# 0.252, 0.8 % away) is caught; 2 % let it through whenever Adam was the run drawn.
RERUN_RTOL = 0.005
VALIDATION = {10_000: 5_000, 1_000: 500}  # the notebook's budgets: training images -> validation images


def shuffled_images(seed: int) -> tuple:
    """TRAIN + VAL fixture images, their pixels and classes each permuted by ``seed``: a network
    learns them as well as the originals, and no one holds them before grading."""
    mnist = data.load_mnist(source="fixture")
    rng = np.random.default_rng(seed)
    pixels, classes = rng.permutation(784), rng.permutation(10)
    images = mnist.x_train[: TRAIN + VAL].reshape(TRAIN + VAL, -1)[:, pixels]
    labels = classes[mnist.y_train[: TRAIN + VAL]].astype(np.uint8)
    return images[:TRAIN], labels[:TRAIN], images[TRAIN:], labels[TRAIN:]


def as_training_data(images_and_labels: tuple) -> tuple:
    """The notebook's form of the data: flattened pixels / 255 as float32, one-hot labels."""
    x_train, y_train, x_val, y_val = images_and_labels
    return (x_train.astype("float32") / 255.0, np.eye(10, dtype="float32")[y_train],
            x_val.astype("float32") / 255.0, np.eye(10, dtype="float32")[y_val])  # fmt: skip


@pytest.fixture(scope="module")
def graded_run(student):
    """The history ``train_and_log`` returned for the judge's run, that run as its store holds it,
    and the history of the judge's own run of the same network on the same data."""
    name = f"graded-{uuid.uuid4().hex[:8]}"
    seed = secrets.randbelow(2**31)
    images = shuffled_images(seed)
    student.give_file("graded-runs.db", tracking.empty_store())  # MLflow's tables made already
    history = student.call("train_and_log", name, CONFIG, as_training_data(images), EPOCHS,
                           batch_size=BATCH_SIZE, seed=SEED, tracking_uri="sqlite:///graded-runs.db",
                           experiment="graded")  # fmt: skip
    runs = student.tracking_runs("graded-runs.db", written_by_call=True)
    named = [run for run in runs if run["name"] == name]
    assert len(named) == 1, _(
        "train_and_log should log exactly one run named after its name argument ({found} found)",
        found=len(named),
    )
    replica = student.train_reference_mlp(CONFIG, images, EPOCHS, BATCH_SIZE, SEED)
    return history, named[0], replica, seed


def epoch_series(run: dict, key: str) -> list[float] | None:
    """The values of metric ``key``, one per epoch, if it was logged at steps 0, 1, 2... (the spec's
    ``step`` = the epoch, from 0)."""
    points = run["metrics"].get(key)
    if not points:
        return None
    steps = [step for step, __ in points]
    if steps != list(range(len(steps))):
        return None
    return [value for __, value in points]


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@pytest.mark.points(1)
def test_train_and_log_logs_a_finished_run_with_its_parameters(graded_run):
    __, run, __, __ = graded_run
    assert run["experiment"] == "graded", _("train_and_log should log into the experiment it is given")
    status = run["status"]
    assert status == "FINISHED", _(
        "the run should be ended (FINISHED) when train_and_log returns, not {status}", status=status
    )
    expected = {**CONFIG, "epochs": EPOCHS, "batch_size": BATCH_SIZE, "seed": SEED, "train_size": TRAIN}
    missing = sorted(set(expected) - set(run["params"]))
    assert not missing, _("parameters missing from the run: {missing}", missing=", ".join(missing))
    wrong = [
        key for key, value in expected.items()
        if run["params"][key] != str(value) and number(run["params"][key]) != number(str(value))
    ]  # fmt: skip
    assert not wrong, _(
        "these parameters do not hold the values of the run: {wrong}", wrong=", ".join(sorted(wrong))
    )


@pytest.mark.points(1)
def test_train_and_log_logs_metrics_per_epoch(graded_run):
    history, run, replica, seed = graded_run
    assert isinstance(history, dict), _(
        "train_and_log should return history.history (a dict), not {kind}", kind=type(history).__name__
    )
    for key in METRICS:
        series = epoch_series(run, key)
        assert series is not None and len(series) == EPOCHS, _(
            "the run should hold {key} once per epoch ({epochs} epochs, at steps 0, 1, 2...)",
            key=key,
            epochs=EPOCHS,
        )
        returned = history.get(key)
        assert isinstance(returned, list) and len(returned) == EPOCHS, _(
            "the history returned should hold {epochs} values of {key}", epochs=EPOCHS, key=key
        )
        assert np.allclose(series, np.asarray(returned, dtype=float), **lib.FLOAT32), _(
            "the {key} logged differs from the {key} of the training that train_and_log returned", key=key
        )
        assert np.allclose(returned, replica[key], rtol=REPLICA_RTOL), _(
            "the {key} train_and_log returned is not what training build_mlp(config) on the data it was "
            "given gives (after keras.utils.set_random_seed(seed), as the exercise says; images of seed {seed})",
            key=key,
            seed=seed,
        )


def handed_in_runs(student) -> dict[str, dict]:
    """The latest finished run of each name in the handed-in store."""
    latest: dict[str, dict] = {}
    for run in student.tracking_runs(STORE):  # newest first
        if run["status"] == "FINISHED" and run["name"] not in latest:
            latest[run["name"]] = run
    return latest


def recorded_config(run: dict) -> dict | None:
    """The configuration a handed-in run records (MLflow keeps parameters as text), or None."""
    params, config = run["params"], {}
    try:
        for key, default in CONFIG.items():
            text = params[key]
            if isinstance(default, bool):
                if text not in ("True", "False"):
                    return None
                config[key] = text == "True"
            elif isinstance(default, float):
                config[key] = float(text)
            else:
                config[key] = text
        settings = {key: int(float(params[key])) for key in ("epochs", "batch_size", "seed", "train_size")}
    except (KeyError, ValueError):
        return None
    if config["optimizer"] not in ("sgd", "rmsprop", "adam") or settings["train_size"] not in VALIDATION:
        return None
    return {**config, **settings}


def rerun_first_epoch(student, name: str, run: dict) -> None:
    """Rerun the first epoch of a handed-in run from its recorded settings; assert it matches."""
    recorded = recorded_config(run)
    assert recorded is not None, _(
        "the run {name!r} in {store} does not record the settings of one of the notebook's budgets "
        "(its configuration, epochs, batch_size, seed and train_size)",
        name=name,
        store=STORE,
    )
    mnist = data.load_at_hand("mnist")
    if mnist.is_fixture:
        pytest.skip(
            _(
                "not run: the grading machine lacks the MNIST training set needed to rerun the runs (not counted)"
            )
        )
    n_train, n_val = recorded["train_size"], VALIDATION[recorded["train_size"]]
    images = mnist.x_train.reshape(len(mnist.x_train), -1)
    rerun_data = (images[:n_train], mnist.y_train[:n_train], images[-n_val:], mnist.y_train[-n_val:])
    config = {key: recorded[key] for key in CONFIG}
    rerun = student.train_reference_mlp(config, rerun_data, 1, recorded["batch_size"], recorded["seed"])
    logged = epoch_series(run, "val_loss")
    again = rerun["val_loss"][0]
    assert logged and math.isclose(logged[0], again, rel_tol=RERUN_RTOL), (
        _(
            "the run {name!r} in {store} records a first-epoch val_loss of {logged}, but training its "
            "configuration again from its recorded settings gives {again:.4f}: hand in the store your "
            "experiment wrote",
            name=name,
            store=STORE,
            logged=logged[0],
            again=again,
        )
        if logged
        else _(
            "the run {name!r} in {store} records a first-epoch val_loss of nothing, but training its "
            "configuration again from its recorded settings gives {again:.4f}: hand in the store your "
            "experiment wrote",
            name=name,
            store=STORE,
            again=again,
        )
    )


@pytest.mark.points(1)
def test_experiment_runs_handed_in(student):
    runs = handed_in_runs(student)
    missing = [name for name in CONFIGURATIONS if name not in runs]
    assert not missing, _(
        "{store} has no finished run for: {missing} (run the experiment and hand it in)",
        store=STORE,
        missing=", ".join(missing),
    )
    for name in CONFIGURATIONS:
        run = runs[name]
        epochs = number(run["params"].get("epochs", ""))
        assert epochs and epochs >= 1, _(
            "the run {name!r} in {store} does not record its number of epochs", name=name, store=STORE
        )
        for key in METRICS:
            series = epoch_series(run, key)
            assert series is not None and len(series) == epochs, _(
                "the run {name!r} in {store} should hold {key} once per epoch",
                name=name,
                store=STORE,
                key=key,
            )
            assert all(math.isfinite(v) for v in series), _(
                "the run {name!r} in {store} holds non-finite {key}", name=name, store=STORE, key=key
            )
    drawn = CONFIGURATIONS[secrets.randbelow(len(CONFIGURATIONS))]
    rerun_first_epoch(student, drawn, runs[drawn])


@pytest.mark.points(1)
def test_adam_ends_below_plain_sgd(student):
    runs = handed_in_runs(student)
    assert "adam" in runs and "sgd" in runs, _(
        "{store} should hold finished runs named 'adam' and 'sgd'", store=STORE
    )
    finals = {}
    for name in ("adam", "sgd"):
        series = epoch_series(runs[name], "val_loss")
        assert series, _("the run {name!r} in {store} holds no val_loss per epoch", name=name, store=STORE)
        finals[name] = series[-1]
    assert finals["adam"] < finals["sgd"], _(
        "in your experiment, Adam's final validation loss is not below plain SGD's: check the runs you "
        "handed in (same budget and seed for both)"
    )
    for name in ("adam", "sgd"):
        rerun_first_epoch(student, name, runs[name])
