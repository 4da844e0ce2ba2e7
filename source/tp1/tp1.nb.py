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
# # TP1 — A dense network on MNIST
#
# You will turn raw MNIST digits into a trained classifier: prepare the data, build a dense
# network with Keras, and train it. Fill in every cell that says `YOUR CODE HERE`, run the
# tests below each exercise, and hand in the notebook.
#
# Training cells read a **budget** from the kit: `full` by default (the real thing), `ci` when
# the notebook is checked automatically (the same code on a few thousand images and one epoch).

# %%
import tpdl  # first: keeps TensorFlow's start-up messages quiet

import keras
import numpy as np

from tpdl import budget, data

BUDGET = budget.current()
SEED = 0
keras.utils.set_random_seed(SEED)
print(f"budget: {BUDGET.name}")

# %% [markdown]
# ## The data
#
# MNIST holds 70,000 greyscale digits of 28×28 pixels (`uint8`, 0–255) with their labels (0–9).
# `tpdl.data.load_mnist()` returns them as `x_train, y_train, x_test, y_test`.

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
# ## Training
#
# This cell is skipped when your notebook is graded (it is tagged `skip-grading`).

# %% tags=["skip-grading"]
x_train, y_train = preprocess(*BUDGET.subset(mnist.x_train, mnist.y_train, ci=2000))
x_test, y_test = preprocess(mnist.x_test, mnist.y_test)
model = build_dense_model()
history = model.fit(
    x_train, y_train, validation_split=0.1, epochs=BUDGET.pick(full=12, ci=1),
    batch_size=128, verbose=2 if BUDGET.is_full else 0,
)  # fmt: skip
test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {test_accuracy:.4f}")
