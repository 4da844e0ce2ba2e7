"""Hidden checks of the handed-in model ``mnist_dense.keras`` (grade cell ``saved_model_tests``, 3 points).

The model is loaded with ``safe_mode=True`` in a worker that runs no student code and evaluated on
the MNIST test set (all 10,000 images where the judge has the data, the kit's 1,000-image fixture
otherwise; the message says which), then on fresh digits: training digits drawn now with
replacement and a little noise (``tpdl.grading.fresh``), decided by ``tpdl.grading.sequential.DrawnAccuracy``.
"""

import pytest

from tpdl import grading
from tpdl.core import i18n, manifest
from tpdl.course import data
from tpdl.grading import fresh

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)
MANIFEST = manifest.beside(__file__)

pytestmark = pytest.mark.cell("saved_model_tests")

MODEL = "mnist_dense.keras"
COURSE_ACCURACY = MANIFEST.thresholds["course_accuracy"]
# The reference's figures (``tpdl.grading.fresh``, 10 seeds of 2,000 digits): 98.46 % of the MNIST test set,
# 99.55 % at least of fresh digits.
REFERENCE_TEST, REFERENCE_FRESH = 0.9846, 0.9955
# Fresh digits (``tpdl.grading.fresh``): honest models score on them at least as well as on the test set.
# Measured over 10 seeds: the reference 99.55 % at least (gap -1.1 to -1.5 points), a 256-unit MLP
# 99.25 % (gap -1.1), one trained on train + test 99.35 % (gap +0.4); a lookup of the test set
# 95.5 % at most (gap 4.5), of the test set and 10,000 training images 97.2 % (gap 2.8). F and G
# keep honest models 2.3 points and 1.1 points inside, and lookups 1.5 points and 1.3 points out.
FRESH_ACCURACY = MANIFEST.thresholds["fresh_accuracy"]  # F
MAX_GAP = MANIFEST.thresholds["max_gap"]  # G: the test-set accuracy may exceed the fresh one by this much
# Fresh digits are independent draws, so the count right is binomial: the check fails only when it is
# strong evidence (half the kit's error rate; the other half is the test set's, where it is measured on
# part of it) that the model does worse than F, or than its test-set accuracy less G.
FRESH = lib.sequential.DrawnAccuracy(
    name=f"TP1 {MODEL}: fresh digits at least fresh_accuracy (reference: tpdl.grading.fresh, 10 seeds)",
    threshold=FRESH_ACCURACY,
    looks=tuple(MANIFEST.samples["fresh_looks"]),
    margin=MANIFEST.samples["fresh_margin"],
    reference=REFERENCE_FRESH,
    error_rate=lib.sequential.ERROR_RATE / 2,
)
# The gap binds only above F + G on the test set (the reference's 98.46 % is below): stated for 99.5 %.
GAP_BINDS_AT = 0.995
STATED_CHECKS = [
    FRESH,
    FRESH.at(
        GAP_BINDS_AT - MAX_GAP,
        f"TP1 {MODEL}: fresh digits at least the test set's less max_gap "
        f"(for a test accuracy of {GAP_BINDS_AT:.2%})",
    ),
]
ALLOWED = {
    "InputLayer",
    "Dense",
    "Dropout",
    "BatchNormalization",
    "Activation",
    "Flatten",
    "Reshape",
    "Rescaling",
    "Normalization",
    "LayerNormalization",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
}


@pytest.mark.points(2)
def test_saved_model_reaches_the_course_accuracy(student, handed_in, measured, to_pixels):
    check = lib.fresh_check(FRESH, measured.test, least_fresh=FRESH_ACCURACY, most_gap=MAX_GAP)
    sample = fresh.mnist_digits(data.load_at_hand("mnist"), count=check.looks[-1])
    correct_of = lib.classified(handed_in, to_pixels(sample.images), sample.labels, what=MODEL, classes=10)
    student.note = lib.assert_generalises(
        MODEL,
        measured.test,
        check.decide(correct_of, sample.where),
        course=COURSE_ACCURACY,
        least_fresh=FRESH_ACCURACY,
        recognises=_("digits"),
    )


@pytest.mark.points(1)
def test_saved_model_is_dense(handed_in):
    others = sorted(set(handed_in.layer_classes) - ALLOWED)
    assert not others, _(
        "{model} should hold dense layers only, not {layers}", model=MODEL, layers=", ".join(others)
    )
    assert "Dense" in handed_in.layer_classes, _("{model} holds no Dense layer", model=MODEL)
