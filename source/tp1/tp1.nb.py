# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # TP1 — A dense network on MNIST, tracked and served
#
# You will turn raw MNIST digits into a trained classifier and deploy it: prepare the data, build
# a dense network with Keras, train it, track the run with MLflow, serve the model with a Flask
# REST API under gunicorn, and package that service as a Docker image. Fill in every cell that
# says `YOUR CODE HERE` and the files `app.py`, `Dockerfile`, `.dockerignore` and
# `requirements.txt`; run the tests below each exercise, and hand in the whole folder (the
# notebook, `mnist_dense.keras`, `mlflow.db` and `mlruns/`, and the four files).
#
# Training cells read a **budget** from the kit: `full` by default (the real thing), `ci` when
# the notebook is checked automatically (the same code on a few thousand images and an epoch or two).

# %%
import tpdl  # first: keeps TensorFlow's start-up messages quiet

import keras
import mlflow
import numpy as np

from tpdl.course import budget, costs, data

BUDGET = budget.current()
SEED = 0
keras.utils.set_random_seed(SEED)
print(f"budget: {BUDGET.name}")

# %% [markdown]
# ## The data
#
# MNIST holds 70,000 greyscale digits of 28×28 pixels (`uint8`, 0–255) with their labels (0–9).
# `tpdl.course.data.load_mnist()` returns them as `x_train, y_train, x_test, y_test`.

# %%
mnist = data.load_mnist()
print(mnist.origin, mnist.x_train.shape, mnist.x_test.shape)

# %% [markdown]
# ## Exercise 1 — `preprocess` (3 points)
#
# A dense network takes vectors, not images, and learns best from small inputs:
#
# * `images`: `uint8` array of shape `(N, 28, 28)` → `x`: `float32` array of shape `(N, 784)`,
#   each pixel divided by 255 so that values lie in `[0, 1]`;
# * `labels`: integers of shape `(N,)` → `y`: one-hot `float32` array of shape `(N, 10)`.
#
# Do not modify the arrays you are given.


# %% nbgrader={"grade": false, "grade_id": "preprocess", "locked": false, "schema_version": 3, "solution": true, "task": false}
def preprocess(images, labels):
    """Flatten and scale ``images``; one-hot encode ``labels``. Returns ``(x, y)``."""
    ### BEGIN SOLUTION
    images = np.asarray(images)
    x = images.reshape(len(images), -1).astype("float32") / 255.0  # (N, 784)
    y = np.eye(10, dtype="float32")[np.asarray(labels, dtype=int)]  # (N, 10)
    return x, y
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "preprocess_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
x_demo, y_demo = preprocess(mnist.x_train[:5], mnist.y_train[:5])
assert x_demo.shape == (5, 784), "x should have one row of 784 pixels per image"
assert x_demo.dtype == np.float32, "x should be float32"
assert 0.0 <= x_demo.min() and x_demo.max() <= 1.0, "pixel values should lie in [0, 1]"
assert y_demo.shape == (5, 10), "y should have one row of 10 values per label"
assert np.all(y_demo.argmax(axis=1) == mnist.y_train[:5]), "the 1 of each row of y should sit at the label"
print("preprocess: visible tests passed")

# %% [markdown]
# ## Exercise 2 — `build_dense_model` (4 points)
#
# Build and **compile** a `keras.Model` for `input_dim` inputs and `n_classes` classes:
#
# * only `Dense`, `Dropout` and `BatchNormalization` layers (after the `Input`);
# * a softmax output of `n_classes` units, so that each output row sums to 1;
# * compiled with an optimiser, the categorical cross-entropy loss (labels are one-hot) and
#   the accuracy metric.
#
# The choice of widths, depth, dropout and optimiser is yours: the hidden tests check the
# contract above, and the trained model must reach 97.83 % on the MNIST test set.


# %% nbgrader={"grade": false, "grade_id": "build_dense_model", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_dense_model(input_dim=784, n_classes=10):
    """A compiled dense classifier of ``input_dim`` features into ``n_classes`` classes."""
    ### BEGIN SOLUTION
    model = keras.Sequential(
        [
            keras.Input(shape=(input_dim,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "build_dense_model_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
demo_model = build_dense_model()
assert demo_model.output_shape == (None, 10), "the model should output 10 values per image"
assert demo_model.optimizer is not None, "compile the model before returning it"
probabilities = demo_model.predict(x_demo, verbose=0)
assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5), "each output row should sum to 1 (softmax)"
print("build_dense_model: visible tests passed")

# %% [markdown]
# ## Exercise 3 — `train` (4 points)
#
# Fit the compiled `model` on `(x, y)`, holding out 10 % of it for validation
# (`validation_split=0.1`), with mini-batches of 128, for `budget.pick(full=..., ci=...)` epochs:
# enough on the `full` budget to beat 97.83 % on the test set (at most 15 epochs), and at most 3
# on the `ci` budget. Return the `keras.callbacks.History` that `fit` returns.


# %% nbgrader={"grade": false, "grade_id": "train", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train(model, x, y, budget):
    """Fit ``model`` on ``(x, y)``, 10 % held out for validation, for the budget's epochs; the History."""
    ### BEGIN SOLUTION
    # The learning rate shrinks by a fifth each epoch: big steps first, fine ones at the end.
    decay = keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate * 0.8 if epoch else rate)
    epochs, verbose = budget.pick(full=15, ci=2), 2 if budget.is_full else 0
    return model.fit(
        x, y, validation_split=0.1, epochs=epochs, batch_size=128, callbacks=[decay], verbose=verbose
    )
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "train_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
x_small, y_small = preprocess(mnist.x_train[:600], mnist.y_train[:600])
small_history = train(build_dense_model(), x_small, y_small, budget.Budget("ci"))
assert isinstance(small_history, keras.callbacks.History), "train should return what model.fit returns"
assert "val_loss" in small_history.history, "hold out a validation split"
assert 1 <= len(small_history.epoch) <= 3, "at most 3 epochs on the ci budget"
print("train: visible tests passed")

# %% [markdown]
# ## Exercise 4 — `log_training` (4 points)
#
# Record a training run with MLflow, as **one run** in the experiment `experiment` of the store
# `tracking_uri` (an SQLite file beside the notebook):
#
# * the parameters `params` (a dict);
# * the metrics of `history` (the dict `History.history`) **per epoch** (`step` = the epoch, from
#   0), and `test_accuracy` once;
# * the model file `model_path` as an artifact (`mlflow.log_artifact`);
#
# the run ended (status `FINISHED`) when the function returns. Return the run's id.


# %% nbgrader={"grade": false, "grade_id": "log_training", "locked": false, "schema_version": 3, "solution": true, "task": false}
def log_training(
    history, model_path, params, test_accuracy, tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"
):
    """Log params, per-epoch metrics, the test accuracy and the model file as one MLflow run; its id."""
    ### BEGIN SOLUTION
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.log_params(params)
        for key, values in history.items():
            for epoch, value in enumerate(values):
                mlflow.log_metric(key, float(value), step=epoch)
        mlflow.log_metric("test_accuracy", float(test_accuracy))
        mlflow.log_artifact(model_path)
    return run.info.run_id
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "log_training_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
# Checked after the training run below: the run it logged is in mlflow.db.
def logged_run_is_complete(run_id):
    client = mlflow.MlflowClient("sqlite:///mlflow.db")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED", "end the run (use `with mlflow.start_run():`)"
    assert "test_accuracy" in run.data.metrics, "log test_accuracy"
    assert len(client.get_metric_history(run_id, "val_loss")) == len(history.epoch), "log val_loss per epoch"
    assert any(a.path == MODEL_FILE for a in client.list_artifacts(run_id)), (
        "log the model file as an artifact"
    )
    print("log_training: visible tests passed")


# %% [markdown]
# ## Training, saving, tracking
#
# This cell is skipped when your notebook is graded (it is tagged `skip-grading`): run it on the
# full budget before you hand in. It saves the model you deploy as `mnist_dense.keras` (its
# weights without the optimiser's state: a service predicts, it does not train).
#
# What it costs on 2 free cores (the course's own benchmark of the reference; your design is
# timed in CPU time, which other programs running beside it do not change):
# the reference network (784-512-256-10, 535,818 parameters) trains 15
# epochs on 60,000 images in about 67 s (4.4 s an epoch). The cell times a few steps of your
# design first and warns above the plan: at most 2,000,000 parameters and 15 s an epoch.
# `train` keeps nothing as it goes: if a run is interrupted, run the cell again.

# %% tags=["skip-grading"]
import time

import matplotlib.pyplot as plt

MODEL_FILE = "mnist_dense.keras"
x_train, y_train = preprocess(*BUDGET.subset(mnist.x_train, mnist.y_train, ci=2000))
x_test, y_test = preprocess(mnist.x_test, mnist.y_test)
keras.utils.set_random_seed(SEED)  # the same run every time
model = build_dense_model()
print(
    costs.preflight(
        model,
        x_train,
        y_train,
        epochs=BUDGET.pick(full=15, ci=2),
        batch_size=128,
        limit=costs.Limit(parameters=2_000_000, epoch_s=15),
        validation_split=0.1,
    )
)
started = time.perf_counter()
history = train(model, x_train, y_train, BUDGET)
train_seconds = time.perf_counter() - started
test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {test_accuracy:.4f} after {len(history.epoch)} epochs in {train_seconds:.0f} s")

serving = type(model).from_config(model.get_config())  # the architecture alone, not compiled
serving.set_weights(model.get_weights())
serving.save(MODEL_FILE)
costs.write_record(MODEL_FILE, BUDGET, len(history.epoch), train_seconds, {"test_accuracy": test_accuracy})

figure, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for key, axis in (("loss", axes[0]), ("accuracy", axes[1])):
    axis.plot(history.history[key], label="training")
    axis.plot(history.history[f"val_{key}"], label="validation")
    axis.set(title=key, xlabel="epoch")
    axis.legend()
figure.tight_layout()
figure.savefig("learning_curves.png", dpi=80)

params = {
    "hidden_units": "-".join(
        str(layer.units) for layer in model.layers[:-1] if isinstance(layer, keras.layers.Dense)
    ),
    "optimizer": type(model.optimizer).__name__,
    "epochs": len(history.epoch),
    "batch_size": 128,
    "train_size": len(x_train),
    "budget": BUDGET.name,
    "train_seconds": round(train_seconds, 1),
}
run_id = log_training(history.history, MODEL_FILE, params, test_accuracy)
logged_run_is_complete(run_id)

# %% [markdown]
# ## The saved model (3 points)
#
# The hidden tests load `mnist_dense.keras` (safely: no custom code runs) and evaluate it on the
# 10,000 test images: it must reach **97.83 %**, with dense layers only, taking vectors of 784
# pixels as `preprocess` makes them. They also classify 10,000 fresh digits drawn when you are
# graded: training digits picked at random (with replacement), each with a little noise added, so
# that no one holds these exact images. They fail your model only on strong evidence that it does
# worse than 97 % on such digits, or more than 1.5 points worse than on the test set (a model
# trained on the training set does at least as well on them; one that looks the test images up
# does not): a model exactly at either threshold fails at most once in ten thousand gradings, and
# one 1.4 points below it passes at most once in a thousand.

# %% nbgrader={"grade": true, "grade_id": "saved_model_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
saved = keras.saving.load_model(MODEL_FILE)
saved_accuracy = float(np.mean(saved.predict(x_test, verbose=0).argmax(axis=1) == mnist.y_test))
costs.require(saved_accuracy >= 0.9783, f"the saved model reaches {saved_accuracy:.4f}", BUDGET)
assert not any("Conv" in type(layer).__name__ for layer in saved.layers), "dense layers only"
print(f"saved model: {saved_accuracy:.4f} on the test set")

# %% [markdown]
# ## Exercise 5 — a REST API: `app.py` (8 points)
#
# Complete `app.py` (beside this notebook): a Flask application factory `create_app(model_path)`
# that loads the model **once** and serves
#
# * `GET /health` → `{"status": "ok"}`;
# * `POST /predict` with JSON `{"image": <28 rows of 28 numbers 0-255>}` →
#   `{"digit": <int>, "probabilities": <10 floats>}`; with `{"images": [<image>, ...]}` → a list
#   of such answers; with a 28×28 PNG (body of type `image/png`, or a form field `image`) → one answer;
# * for every bad request (a body that is not JSON or not UTF-8, broken JSON, JSON nested
#   deeper than any image or a number too long to convert, a list instead of an object, a missing
#   field, a wrong shape, non-numbers, NaN, values out of 0-255, an empty batch or one holding a
#   bad image, an `image/png` body that is not a PNG, a body over the stated limit) and for an
#   unknown URL or a wrong method, a **4xx** answer `{"error": "..."}` (JSON, never Flask's HTML
#   pages) that says what was wrong: never a 500, never a traceback.
#
# The hidden tests start your application under **gunicorn** and send it real HTTP requests. Its
# answers to 200 fresh digits in a batch, and to 20 of them one by one, must be your saved model's
# own predictions (digits on which the model hesitates between two classes are left out): no
# accuracy is asked of the app, only that it serves the model, scaling the pixels as in training.
# They also report the 95th percentile of the time to answer one image (call the model directly,
# `model(x)`: `model.predict` per request is far slower). Try it yourself:
#
# ```bash
# MODEL_PATH=mnist_dense.keras gunicorn --bind 127.0.0.1:8000 app:app
# curl -s localhost:8000/health
# ```

# %% nbgrader={"grade": true, "grade_id": "app_tests", "locked": true, "points": 8, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
import importlib

import app as service

importlib.reload(service)
client = service.create_app(MODEL_FILE).test_client()
assert client.get("/health").get_json() == {"status": "ok"}
answer = client.post("/predict", json={"image": mnist.x_test[0].tolist()}).get_json()
assert answer["digit"] == mnist.y_test[0] and len(answer["probabilities"]) == 10, answer
bad = client.post("/predict", json={"image": [[0] * 28] * 27})
assert 400 <= bad.status_code < 500 and "error" in bad.get_json(), "a wrong shape should get a 4xx JSON error"
print("app.py: visible tests passed")

# %% [markdown]
# ## Exercise 6 — a Docker image: `Dockerfile`, `.dockerignore`, `requirements.txt` (8 points)
#
# Package the service: a `requirements.txt` of what it needs, pinned; a `Dockerfile` on a pinned
# slim Python base (no `latest`), installing the dependencies **before** copying the code (so that
# a code change does not reinstall them), running as a **non-root** user, with `EXPOSE`, a
# `HEALTHCHECK` and gunicorn as the command; a `.dockerignore` that keeps notebooks, MLflow runs
# and data out of the build context. The hidden tests lint it with
# [hadolint](https://github.com/hadolint/hadolint) and read its instructions; where the grading
# machine runs Docker, they also build the image and ask it 40 fresh digits, each of which it must
# answer as your saved model does. That build has **no network**:
# the base image must be one the grading machine holds (`python:3.11-slim`: Python 3.11, as the
# course's environment), and `pip install` reaches only a package index of the course's pinned
# versions (those of this notebook's environment: `flask`, `gunicorn`, `keras`, `numpy`,
# `pillow`, `tensorflow-cpu`, and what they need). Nothing else can be downloaded while it builds
# (no `apt-get`, no `curl`). If the machine cannot build at all (no base image, no index), the
# two image points wait for a machine that can; a build that fails on a step of yours loses them.
#
# ```bash
# hadolint Dockerfile
# docker build -t mnist-api . && docker run --rm -p 8000:8000 mnist-api
# ```

# %% nbgrader={"grade": true, "grade_id": "dockerfile_tests", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
import shutil
import subprocess
import sys
from pathlib import Path

hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")  # installed with the kit
lint = subprocess.run(
    [hadolint, "--failure-threshold", "warning", "Dockerfile"], capture_output=True, text=True
)
assert lint.returncode == 0, lint.stdout
print("Dockerfile: hadolint finds nothing")

# %% nbgrader={"grade": true, "grade_id": "docker_image_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
# Built and queried by the hidden tests where the grading machine runs Docker.
import os

assert os.path.exists(".dockerignore"), "add a .dockerignore"
print("the image is built by the grader where Docker runs")
