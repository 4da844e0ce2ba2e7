"""Hidden checks of the handed-in CNN ``cifar10_cnn.keras`` (grade cell ``cnn_model_tests``, 4 points).

The model is loaded with ``safe_mode=True`` in a worker that runs no student code and evaluated on
the CIFAR-10 test set (all 10,000 images where the judge has the data, the kit's 500-image
fixture otherwise; the message says which) and on fresh images drawn now (``tpdl.fresh``).
"""

import pytest

from tpdl import data, fresh, grading, i18n, manifest

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

MANIFEST = manifest.beside(__file__)

pytestmark = pytest.mark.cell("cnn_model_tests")

MODEL = "cifar10_cnn.keras"
COURSE_ACCURACY = MANIFEST.thresholds["course_accuracy"]
# Fresh images (``tpdl.fresh``): honest CNNs score on them about as well as on the test set.
# Measured over 10 seeds: the reference 89.4 % at least (gap -6.3 to -8.1 points), a small CNN of
# 66.6 % on the test set 64.4 % at least (gap +2.2 at most); a lookup of the test set 30.2 % at most,
# one of the test set, 10,000 training images and their mirror images 48.1 % (gap 51.9). F and G
# leave an honest model at the course's threshold about 7.5 points inside each, lookups 11.9 points
# and 41.9 points out.
FRESH_ACCURACY = MANIFEST.thresholds["fresh_accuracy"]  # F
MAX_GAP = MANIFEST.thresholds["max_gap"]  # G: the test-set accuracy may exceed the fresh one by this much


@pytest.fixture(scope="module")
def saved(student):
    return student.saved_model(MODEL)


@pytest.mark.points(3)
def test_cnn_beats_the_course_on_the_test_set(student, saved):
    shape = saved.description["input_shape"]
    assert isinstance(shape, list) and shape[1:] == [32, 32, 3], _(
        "{model} should take CIFAR-10 images of shape (None, 32, 32, 3), not {shape}",
        model=MODEL,
        shape=shape,
    )
    cifar = data.load_at_hand("cifar10")
    where = (
        _("the {count:,} test images of the kit's fixture", count=len(cifar.x_test))
        if cifar.is_fixture
        else _("the {count:,} test images of CIFAR-10", count=len(cifar.x_test))
    )
    what = _("{model} (given raw pixel values, 0-255)", model=MODEL)
    # Images cross as uint8 (four times fewer bytes); Keras casts them.
    sample = fresh.cifar_images(cifar)
    images = lib.measure_accuracy(
        saved, sample.images, sample.labels, what=what, where=sample.described, classes=10, batch_size=500
    )
    # The test set only as far as it takes to settle both of its thresholds (``tpdl.sequential``).
    questions = lib.generalisation_questions(images, course=COURSE_ACCURACY, most_gap=MAX_GAP)
    test = lib.measure_accuracy(
        saved,
        cifar.x_test,
        cifar.y_test,
        what=what,
        where=where,
        classes=10,
        settle=questions,
        batch_size=500,
    )
    student.note = lib.assert_generalises(
        what, test, images, course=COURSE_ACCURACY, least_fresh=FRESH_ACCURACY, most_gap=MAX_GAP,
        recognises=_("objects"),
    )  # fmt: skip


@pytest.mark.points(1)
def test_cnn_is_convolutional(saved):
    classes = set(saved.layer_classes)
    assert classes & {"Conv2D", "SeparableConv2D", "DepthwiseConv2D"}, _(
        "{model} should be a convolutional network", model=MODEL
    )
