"""What TP1's graders share: the handed-in model, loaded once, and what the judge measures of it.

The model is loaded with ``safe_mode=True`` in a worker that runs no student code and evaluated on the MNIST
test set (all 10,000 images where the judge has the data, the kit's 1,000-image fixture otherwise);
``test_saved_model.py`` also asks it fresh digits drawn and perturbed now (``tpdl.grading.fresh``).
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.course import data

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)

MODEL = "mnist_dense.keras"
# How closely a tracked run's test accuracy must agree with the judge's measurement of its model:
# the same model on the same 10,000 images gives the same answers (0.1 point leaves room for the
# rounding of a logged metric). Where the judge has only the kit's 1,000 test images, three
# binomial standard errors of its measurement there (1.15 points at 98.5 %; the reference's logged
# 98.46 % and its 98.50 % on the fixture differ by 0.04).
AGREEMENT_FULL, FIXTURE_STANDARD_ERRORS = 0.001, 3.0


@dataclass(frozen=True)
class Measured:
    """The judge's own figures of the handed-in model."""

    test: "lib.sequential.Accuracy"  # on the whole public test set at hand
    agreement: float  # the tolerance a logged accuracy gets against the test accuracy


def pixels(images: np.ndarray) -> np.ndarray:
    """Images as ``preprocess`` hands them to the model: 784 pixels each, scaled to [0, 1]."""
    return images.reshape(len(images), -1).astype("float32") / 255.0


@pytest.fixture(scope="session")
def to_pixels():
    """:func:`pixels`, for the grader modules."""
    return pixels


@pytest.fixture(scope="session")
def handed_in(student):
    return student.saved_model(MODEL)


@pytest.fixture(scope="session")
def measured(student, handed_in) -> Measured:
    shape = handed_in.description["input_shape"]
    assert shape == [None, 784], _(
        "{model} should take vectors of 784 pixels (as preprocess makes them), not {shape}",
        model=MODEL,
        shape=shape,
    )
    mnist = data.load_at_hand("mnist")
    where = (
        _("the {count:,} test images of the kit's fixture", count=len(mnist.x_test))
        if mnist.is_fixture
        else _("the {count:,} test images of MNIST", count=len(mnist.x_test))
    )
    # Every test image: the accuracy a tracked run logged is compared with this figure itself.
    test = lib.measure_accuracy(
        handed_in, pixels(mnist.x_test), mnist.y_test, what=MODEL, where=where, classes=10
    )
    agreement = AGREEMENT_FULL
    if mnist.is_fixture:
        agreement = FIXTURE_STANDARD_ERRORS * math.sqrt(
            max(test.value * (1 - test.value), 1e-4) / len(mnist.x_test)
        )
    return Measured(test, agreement)
