"""Hidden checks of the handed-in 3D CNN ``conv3d.keras`` (grade cell ``conv3d_model_tests``, 3 points).

Loaded with ``safe_mode=True`` in a worker that runs no student code; it classifies volumes
generated now from a seed drawn now, independent draws of one distribution, as many as it takes to
settle its accuracy on them (``tpdl.grading.sequential.DrawnAccuracy``).
"""

import secrets

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n, manifest
from tpdl.course.phantoms import volumes

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)
MANIFEST = manifest.beside(__file__)

pytestmark = pytest.mark.cell("conv3d_model_tests")

MODEL = "conv3d.keras"
REQUIRED_ACCURACY = MANIFEST.thresholds["conv3d_accuracy"]
# The check fails only on strong evidence that the model's accuracy on such volumes is below the
# threshold. The reference classifies 98.1 % to 99.0 % of 1,000 fresh volumes of each seed (README).
ACCURACY = lib.sequential.DrawnAccuracy(
    name=f"TP4 {MODEL}: fresh volumes at least conv3d_accuracy (reference: 98.1 % at least, README)",
    threshold=REQUIRED_ACCURACY,
    looks=tuple(MANIFEST.samples["conv3d_looks"]),
    margin=MANIFEST.samples["conv3d_margin"],
    reference=0.981,
)
STATED_CHECKS = [ACCURACY]


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

    def correct_of(indices):
        images, labels, __ = volumes(len(indices), seed=seed + int(indices[0]))  # each look its own draws
        classified = lib.classified(saved, images, labels, what=MODEL, classes=2, batch_size=64)
        return classified(np.arange(len(indices)))

    accuracy = ACCURACY.decide(correct_of, _("fresh volumes (seed {seed})", seed=seed))
    assert accuracy.passed, _(
        "{model} classifies {accuracy} correctly: that is strong evidence that it does worse than the "
        "{required:.0%} needed on such volumes",
        model=MODEL,
        accuracy=accuracy.described(),
        required=REQUIRED_ACCURACY,
    )
    student.note = accuracy.described()


@pytest.mark.points(1)
def test_conv3d_model_convolves_in_3d(saved):
    assert "Conv3D" in saved.layer_classes, _("{model} should be built from Conv3D layers", model=MODEL)
