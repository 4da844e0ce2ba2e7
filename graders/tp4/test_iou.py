"""Hidden checks of ``iou_score`` (grade cell ``iou_score_tests``, 3 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.course.phantoms import phantoms
from tpdl.grading import as_array

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("iou_score_tests")

RNG = np.random.default_rng(43)


def reference_iou(y_true, y_pred, smooth=1.0):
    """The mean over the batch of each sample's soft intersection over union."""
    t = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    p = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1)
    intersection = (t * p).sum(1)
    return float(np.mean((intersection + smooth) / (t.sum(1) + p.sum(1) - intersection + smooth)))


def iou_of(student, y_true, y_pred, smooth=1.0, tensors=False):
    call = student.call_with_tensors if tensors else student.call
    return float(as_array(call("iou_score", y_true, y_pred, smooth), _("the value of iou_score"), ()))


@pytest.mark.points(1)
def test_iou_follows_the_definition(student):
    shape = (1, 12, 12, 1)
    zeros, ones = np.zeros(shape, np.float32), np.ones(shape, np.float32)
    square, other = zeros.copy(), zeros.copy()
    square[0, 2:8, 2:8], other[0, 5:11, 4:10] = 1.0, 1.0
    soft = RNG.uniform(0, 1, shape).astype(np.float32)
    cases = {
        _("two empty masks"): (zeros, zeros, 1.0),
        _("an empty true mask and a full prediction"): (zeros, ones, 1.0),
        _("overlapping squares without smoothing"): (square, other, 0.0),
        _("a soft prediction"): (square, soft, 1.0),
        _("a soft prediction with smooth=3"): (square, soft, 3.0),
        _("masks of shape (N, H, W)"): (square[..., 0], other[..., 0], 1.0),
    }
    for case, (y_true, y_pred, smooth) in cases.items():
        value, expected = iou_of(student, y_true, y_pred, smooth), reference_iou(y_true, y_pred, smooth)
        assert np.isclose(value, expected, **lib.TENSORS), _(
            "iou_score for {case} (smooth={smooth}) gives {value:.6g}, which does not follow the "
            "definition: the union counts the intersection once",
            case=case,
            smooth=smooth,
            value=value,
        )


@pytest.mark.points(1)
def test_iou_averages_samples_and_relates_to_dice(student):
    masks = phantoms(5, size=32, seed=7)[1].astype(np.float32)
    predictions = np.roll(masks, 1, axis=2)  # binary, partly overlapping
    predictions[0] = 0.0
    value = iou_of(student, masks, predictions, 0.5)
    assert np.isclose(value, reference_iou(masks, predictions, 0.5), **lib.TENSORS), _(
        "on a batch, iou_score should compute one score per sample and average them over the batch"
    )
    masks, predictions = masks[1:], predictions[1:]  # no empty mask: the identity holds without smoothing
    t, p = masks.reshape(4, -1), predictions.reshape(4, -1)
    dice = 2 * (t * p).sum(1) / (t.sum(1) + p.sum(1))
    for i in range(4):
        value = iou_of(student, masks[i : i + 1], predictions[i : i + 1], 0.0)
        assert np.isclose(value, dice[i] / (2 - dice[i]), **lib.TENSORS), _(
            "on binary masks without smoothing, iou_score should equal D / (2 - D), D being the Dice"
        )


@pytest.mark.points(1)
def test_iou_works_on_tensors_in_compile_and_rejects_bad_input(student):
    square = np.zeros((2, 8, 8, 1), np.float32)
    square[:, 1:5, 2:7] = 1.0
    soft = RNG.uniform(0, 1, square.shape).astype(np.float32)
    assert np.isclose(
        iou_of(student, square, soft, tensors=True), reference_iou(square, soft), **lib.TENSORS
    ), _("iou_score should give the same value on tensors as on arrays")
    x = RNG.uniform(size=(16, 16, 16, 1)).astype(np.float32)
    history, __ = student.fit_probe(None, ["iou_score"], x, (x >= 0.6).astype(np.float32), epochs=2)
    values = history.get("iou_score", [])
    assert values and all(0.0 <= v <= 1.0 for v in values), _(
        "iou_score should work as a metric given to model.compile, with values in [0, 1]"
    )
    for case, args in {
        _("masks of different shapes"): (square, square[..., 0]),
        _("a negative smooth"): (square, soft, -0.5),
    }.items():
        lib.assert_refuses(student, "iou_score", *args, what=_("iou_score given {case}", case=case))
