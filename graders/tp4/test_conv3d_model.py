"""Hidden checks of the handed-in 3D CNN ``conv3d.keras`` (grade cell ``conv3d_model_tests``, 3 points).

Loaded with ``safe_mode=True`` in a worker that runs no student code; it classifies volumes
generated from a seed drawn now.
"""

import secrets

import pytest

from tpdl import grading, i18n, manifest
from tpdl.phantoms import volumes

_ = i18n.domain(__file__)

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
    assert shape == [None, 32, 32, 32, 1], _(
        "{model} should take volumes of shape (None, 32, 32, 32, 1), not {shape}", model=MODEL, shape=shape
    )
    seed = secrets.randbelow(2**31)
    images, labels, __ = volumes(COUNT, seed=seed)
    enough = lib.sequential.at_least(REQUIRED_ACCURACY)  # settled on as few volumes as it takes
    accuracy = lib.measure_accuracy(saved, images, labels, what=MODEL,
                                    where=_("{count} fresh volumes (seed {seed})", count=COUNT, seed=seed),
                                    classes=2, settle=[enough], batch_size=64)  # fmt: skip
    assert accuracy.verdict(enough), _(
        "{model} classifies {accuracy} correctly; {required:.0%} is needed",
        model=MODEL,
        accuracy=accuracy.described("high"),
        required=REQUIRED_ACCURACY,
    )
    student.note = accuracy.described()


@pytest.mark.points(1)
def test_conv3d_model_convolves_in_3d(saved):
    assert "Conv3D" in saved.layer_classes, _("{model} should be built from Conv3D layers", model=MODEL)
