"""Hidden checks of the handed-in model ``mnist_dense.keras`` (grade cell ``saved_model_tests``, 3 points).

The model is loaded with ``safe_mode=True`` in a worker that runs no student code and evaluated on
the MNIST test set: all 10,000 images where the judge has the data, the kit's 1,000-image
fixture otherwise (the message says which).
"""

import numpy as np
import pytest

from tpdl import data

pytestmark = pytest.mark.cell("saved_model_tests")

MODEL = "mnist_dense.keras"
COURSE_ACCURACY = 0.9783
ALLOWED = {"InputLayer", "Dense", "Dropout", "BatchNormalization", "Activation", "Flatten", "Reshape",
           "Rescaling", "Normalization", "LayerNormalization", "GaussianNoise", "GaussianDropout", "AlphaDropout"}  # fmt: skip
CHUNK = 2000


@pytest.fixture(scope="module")
def saved(student):
    return student.saved_model(MODEL)


@pytest.mark.points(2)
def test_saved_model_reaches_the_course_accuracy(student, saved):
    shape = saved.description["input_shape"]
    assert shape == [None, 784], (
        f"{MODEL} should take vectors of 784 pixels (as preprocess makes them), not {shape}"
    )
    mnist = data.load_at_hand("mnist")
    x = mnist.x_test.reshape(len(mnist.x_test), -1).astype("float32") / 255.0
    outputs = np.concatenate([np.asarray(saved.predict(x[i : i + CHUNK])) for i in range(0, len(x), CHUNK)])
    accuracy = float(np.mean(outputs.argmax(axis=1) == mnist.y_test))
    where = f"the {len(x):,} test images" + (" of the kit's fixture" if mnist.is_fixture else " of MNIST")
    assert accuracy >= COURSE_ACCURACY, (
        f"{MODEL} classifies {accuracy:.2%} of {where} correctly; {COURSE_ACCURACY:.2%} is needed"
    )
    student.note = f"{accuracy:.2%} on {where}"


@pytest.mark.points(1)
def test_saved_model_is_dense(saved):
    others = sorted(set(saved.layer_classes) - ALLOWED)
    assert not others, f"{MODEL} should hold dense layers only, not {', '.join(others)}"
    assert "Dense" in saved.layer_classes, f"{MODEL} holds no Dense layer"
