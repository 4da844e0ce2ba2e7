"""Hidden checks of the handed-in 3D CNN ``conv3d.keras`` (grade cell ``conv3d_model_tests``, 3 points).

Loaded with ``safe_mode=True`` in a worker that runs no student code; it classifies volumes
generated from a seed drawn now.
"""

import secrets

import pytest

from tpdl import grading, manifest
from tpdl.phantoms import volumes

lib = grading.grader_library(__file__)
MANIFEST = manifest.beside(__file__)

pytestmark = pytest.mark.cell("conv3d_model_tests")

MODEL = "conv3d.keras"
REQUIRED_ACCURACY = MANIFEST.thresholds["conv3d_accuracy"]
COUNT = 400


@pytest.fixture(scope="module")
def saved(student):
    return student.saved_model(MODEL)


@pytest.mark.points(2)
def test_conv3d_classifies_fresh_volumes(student, saved):
    shape = saved.description["input_shape"]
    assert shape == [None, 32, 32, 32, 1], (
        f"{MODEL} should take volumes of shape (None, 32, 32, 32, 1), not {shape}"
    )
    seed = secrets.randbelow(2**31)
    images, labels, _ = volumes(COUNT, seed=seed)
    accuracy = lib.accuracy(saved, images, labels, what=MODEL, classes=2, batch_size=64)
    assert accuracy >= REQUIRED_ACCURACY, (
        f"{MODEL} classifies {accuracy:.1%} of {COUNT} fresh volumes (seed {seed}) correctly; "
        f"{REQUIRED_ACCURACY:.0%} is needed"
    )
    student.note = f"{accuracy:.1%} of {COUNT} fresh volumes (seed {seed})"


@pytest.mark.points(1)
def test_conv3d_model_convolves_in_3d(saved):
    assert "Conv3D" in saved.layer_classes, f"{MODEL} should be built from Conv3D layers"
