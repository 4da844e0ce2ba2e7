"""Hidden checks of the handed-in CNN ``cifar10_cnn.keras`` (grade cell ``cnn_model_tests``, 4 points).

The model is loaded with ``safe_mode=True`` in a worker that runs no student code and evaluated on
the CIFAR-10 test set: all 10,000 images where the judge has the data, the kit's 500-image
fixture otherwise (the message says which).
"""

import numpy as np
import pytest

from tpdl import data

pytestmark = pytest.mark.cell("cnn_model_tests")

MODEL = "cifar10_cnn.keras"
COURSE_ACCURACY = 0.6974


@pytest.fixture(scope="module")
def saved(student):
    return student.saved_model(MODEL)


@pytest.mark.points(3)
def test_cnn_beats_the_course_on_the_test_set(student, saved):
    shape = saved.description["input_shape"]
    assert isinstance(shape, list) and shape[1:] == [32, 32, 3], (
        f"{MODEL} should take CIFAR-10 images of shape (None, 32, 32, 3), not {shape}"
    )
    cifar = data.load_at_hand("cifar10")
    outputs = np.asarray(saved.predict(cifar.x_test, batch_size=500))  # uint8 crosses faster; Keras casts it
    assert outputs.shape == (len(cifar.x_test), 10), (
        f"{MODEL} should output 10 class probabilities per image, not shape {outputs.shape[1:]}"
    )
    accuracy = float(np.mean(outputs.argmax(axis=1) == cifar.y_test))
    where = f"the {len(cifar.x_test):,} test images" + (
        " of the kit's fixture" if cifar.is_fixture else " of CIFAR-10"
    )
    assert accuracy >= COURSE_ACCURACY, (
        f"{MODEL} classifies {accuracy:.2%} of {where} correctly (given raw pixel values, 0-255); "
        f"{COURSE_ACCURACY:.2%} is needed"
    )
    student.note = f"{accuracy:.2%} on {where}"


@pytest.mark.points(1)
def test_cnn_is_convolutional(saved):
    classes = set(saved.layer_classes)
    assert classes & {"Conv2D", "SeparableConv2D", "DepthwiseConv2D"}, (
        f"{MODEL} should be a convolutional network"
    )
