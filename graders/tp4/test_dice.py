"""Hidden checks of ``dice_coefficient`` and ``dice_loss`` (grade cell ``dice_tests``, 5 points).

The values are compared with an independent NumPy reference (float64) on single masks (the
definition), on batches (the mean of per-sample scores) and through tensors. The loss is traced
into a TensorFlow graph and differentiated, then used by the kit's own training loop to train a
probe (one convolution), in a worker that runs no student code: no patched ``fit`` or tape answers.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.course.phantoms import phantoms
from tpdl.grading import as_array, assert_accepts

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("dice_tests")

RNG = np.random.default_rng(41)


def reference_dice(y_true, y_pred, smooth=1.0):
    """The mean over the batch of each sample's soft Dice coefficient."""
    t = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    p = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1)
    return float(np.mean((2 * (t * p).sum(1) + smooth) / (t.sum(1) + p.sum(1) + smooth)))


def reference_dice_loss_gradient(y_true, y_pred, smooth=1.0):
    """d(1 - mean Dice) / d y_pred, for masks of any shape."""
    t = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    p = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1)
    numerator = 2 * (t * p).sum(1, keepdims=True) + smooth
    denominator = t.sum(1, keepdims=True) + p.sum(1, keepdims=True) + smooth
    gradient = -(2 * t * denominator - numerator) / denominator**2 / len(t)
    return gradient.reshape(np.shape(y_pred))


def blob(shape, rows, cols):
    mask = np.zeros(shape, np.float32)
    mask[..., rows[0] : rows[1], cols[0] : cols[1], :] = 1.0
    return mask


SHAPE = (1, 12, 12, 1)
TRUE = blob(SHAPE, (2, 8), (3, 9))
SOFT = RNG.uniform(0, 1, SHAPE).astype(np.float32)
SINGLE_CASES = {  # one sample each: a batch of one, where the batch mean cannot matter
    _("two empty masks"): (np.zeros(SHAPE, np.float32), np.zeros(SHAPE, np.float32), 1.0),
    _("an empty true mask and a full prediction"): (
        np.zeros(SHAPE, np.float32),
        np.ones(SHAPE, np.float32),
        1.0,
    ),
    _("a full true mask and an empty prediction"): (
        np.ones(SHAPE, np.float32),
        np.zeros(SHAPE, np.float32),
        1.0,
    ),
    _("a soft prediction"): (TRUE, SOFT, 1.0),
    _("overlapping squares without smoothing"): (TRUE, blob(SHAPE, (4, 10), (1, 7)), 0.0),
    _("a soft prediction with smooth=2.5"): (TRUE, SOFT, 2.5),
    _("masks of shape (N, H, W)"): (TRUE[..., 0], SOFT[..., 0], 1.0),
}


def dice_of(student, y_true, y_pred, smooth, what):
    return float(as_array(student.call("dice_coefficient", y_true, y_pred, smooth), what, ()))


@pytest.mark.points(1)
def test_dice_follows_the_definition(student):
    for case, (y_true, y_pred, smooth) in SINGLE_CASES.items():
        value = dice_of(student, y_true, y_pred, smooth, _("dice_coefficient for {case}", case=case))
        expected = reference_dice(y_true, y_pred, smooth)
        assert np.isclose(value, expected, **lib.TENSORS), _(
            "dice_coefficient for {case} (smooth={smooth}) gives {value:.6g}, which does not follow "
            "the definition: check the factor 2 and where the smoothing goes",
            case=case,
            smooth=smooth,
            value=value,
        )


@pytest.mark.points(1)
def test_dice_is_the_mean_of_per_sample_scores(student):
    shape = (4, 10, 10, 1)
    y_true = np.zeros(shape, np.float32)
    y_true[1] = 1.0  # an empty mask, a full one, and two partial ones
    y_true[2, 2:5, 2:5] = 1.0
    y_true[3, :, :5] = 1.0
    y_pred = RNG.uniform(0, 1, shape).astype(np.float32)
    y_pred[0] = 0.0
    for smooth in (1.0, 0.5):
        value = dice_of(student, y_true, y_pred, smooth, _("dice_coefficient of a batch"))
        expected = reference_dice(y_true, y_pred, smooth)
        assert np.isclose(value, expected, **lib.TENSORS), _(
            "on a batch mixing empty, full and partial masks, dice_coefficient should compute one "
            "score per sample (over all its pixels) and average them over the batch"
        )


@pytest.mark.points(1)
def test_dice_loss_is_differentiable(student):
    y_true, y_pred = (
        phantoms(3, size=16, seed=5)[1].astype(np.float32),
        RNG.uniform(0.05, 0.95, (3, 16, 16, 1)),
    )
    y_pred = y_pred.astype(np.float32)
    loss = float(
        as_array(student.call_with_tensors("dice_loss", y_true, y_pred), _("dice_loss on tensors"), ())
    )
    assert np.isclose(loss, 1 - reference_dice(y_true, y_pred), **lib.TENSORS), _(
        "dice_loss should be 1 - dice_coefficient (smooth=1), on tensors as on arrays"
    )
    __, gradient = student.gradient("dice_loss", 1, y_true, y_pred)
    assert gradient is not None, _(
        "dice_loss has no gradient with respect to y_pred: compute it with keras.ops on the "
        "probabilities (no NumPy, no threshold), so that a network can learn from it"
    )
    gradient = as_array(gradient, _("the gradient of dice_loss"), y_pred.shape)
    assert np.all(np.isfinite(gradient)), _("the gradient of dice_loss holds NaN or infinite values")
    assert np.allclose(gradient, reference_dice_loss_gradient(y_true, y_pred), **lib.GRADIENTS), _(
        "the gradient of dice_loss is not the gradient of 1 - the soft Dice coefficient"
    )


@pytest.mark.points(1)
def test_dice_loss_trains_a_model_in_compile(student):
    # The mask of the bright pixels: a single convolution can learn it, with a loss that lets it.
    x = RNG.uniform(size=(32, 16, 16, 1)).astype(np.float32)
    history, __ = student.fit_probe(
        "dice_loss", ["dice_coefficient"], x, (x >= 0.6).astype(np.float32), epochs=8
    )
    losses = history.get("loss", [])
    assert "dice_coefficient" in history, _("dice_coefficient should work as a metric given to model.compile")
    assert losses and np.all(np.isfinite(losses)), _("dice_loss gives no finite loss inside model.fit")
    assert losses[-1] < 0.9 * losses[0], _(
        "a model compiled with loss=dice_loss does not learn (its loss does not fall): is the loss "
        "differentiable?"
    )


@pytest.mark.points(1)
def test_dice_rejects_bad_input(student):
    cases = {
        _("masks of different shapes"): (TRUE, TRUE[..., 0], 1.0),
        _("a y_true that is not binary"): (SOFT, TRUE, 1.0),
        _("a negative smooth"): (TRUE, SOFT, -1.0),
    }
    assert_accepts(student, "dice_coefficient", TRUE, SOFT, 1.0)
    for case, args in cases.items():
        lib.assert_refuses(
            student, "dice_coefficient", *args, what=_("dice_coefficient given {case}", case=case)
        )
