"""Hidden checks of ``preprocess`` (grade cell ``preprocess_tests``, 3 points)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array, as_pair

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("preprocess_tests")

RNG = np.random.default_rng(20261)
IMAGES = RNG.integers(0, 256, size=(37, 28, 28), dtype=np.uint8)
IMAGES[0] = 255  # a full-white image: its pixels must scale to exactly 1
IMAGES[1] = 0
LABELS = RNG.integers(0, 10, size=37).astype(np.int64)
LABELS[:10] = np.arange(10)
# A batch on which the rule and plausible shortcuts differ: dim images (no pixel is 0 or 255, so
# dividing by the batch's maximum, or min-max scaling, is not dividing by 255) and labels that
# miss classes at both ends (an encoding as wide as the batch's largest label is not 10 wide).
DIM = RNG.integers(12, 140, size=(5, 28, 28), dtype=np.uint8)
FEW = np.array([3, 5, 4, 3, 6], dtype=np.int64)


def expected(images, labels):
    """Independent reference: pixel / 255 as float32 rows; one-hot float32 labels."""
    x = np.stack([image.ravel() for image in images]).astype(np.float64) / 255.0
    y = np.zeros((len(labels), 10), dtype=np.float64)
    for row, label in enumerate(labels):
        y[row, label] = 1.0
    return x, y


@pytest.mark.points(1)
def test_preprocess_shapes_and_dtypes(student):
    answer, (images, labels), __ = student.call_and_inputs("preprocess", IMAGES, LABELS)
    x, y = as_pair(answer, "preprocess")
    as_array(x, "x", (37, 784))
    as_array(y, "y", (37, 10))
    assert x.dtype == np.float32, _("x should be float32, not {dtype}", dtype=x.dtype)
    assert y.dtype == np.float32, _("y should be float32, not {dtype}", dtype=y.dtype)
    for name, sent, after in (("images", IMAGES, images), ("labels", LABELS, labels)):
        assert isinstance(after, np.ndarray) and after.shape == sent.shape and np.array_equal(after, sent), _(
            "preprocess changed the {name} array it was given (its shape or its values): "
            "leave it as it was and make a new one",
            name=name,
        )


@pytest.mark.points(1)
def test_preprocess_scales_pixels(student):
    x, __ = as_pair(student.call("preprocess", IMAGES, LABELS), "preprocess")
    x = as_array(x, "x", (37, 784))
    want, __ = expected(IMAGES, LABELS)
    assert x.max() <= 1.0 + lib.PIXELS["rtol"], _(
        "x holds values above 1: the pixels are not scaled into [0, 1]"
    )
    try:
        assert_allclose(x, want, **lib.PIXELS)
    except AssertionError:
        raise AssertionError(_("x does not hold each image's pixels, row by row, divided by 255")) from None
    dim, __ = as_pair(student.call("preprocess", DIM, FEW), "preprocess")
    try:
        assert_allclose(as_array(dim, "x", (5, 784)), expected(DIM, FEW)[0], **lib.PIXELS)
    except AssertionError:
        raise AssertionError(
            _(
                "on a batch of dim images, x is not each pixel divided "
                "by 255: the scale must not depend on the batch"
            )
        ) from None


@pytest.mark.points(1)
def test_preprocess_one_hot_labels(student):
    __, y = as_pair(student.call("preprocess", IMAGES, LABELS.astype(np.uint8)), "preprocess")
    y = as_array(y, "y", (37, 10))
    __, want = expected(IMAGES, LABELS)
    assert np.array_equal(y, want), _("y should be one-hot: a single 1 per row, at the label's position")
    __, few = as_pair(student.call("preprocess", DIM, FEW), "preprocess")
    assert np.array_equal(as_array(few, "y", (5, None)), expected(DIM, FEW)[1]), _(
        "for a batch holding only some of the digits, y should still have 10 columns, one per digit 0-9"
    )
