"""Hidden checks of ``evaluate_rollouts`` (grade cell ``evaluate_rollouts_tests``, 3 points), against
float64 NumPy references (``video_metrics.py``: the SSIM with TensorFlow's conventions written out)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.course.videos import moving_shapes
from tpdl.grading import assert_accepts

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("evaluate_rollouts_tests")

metrics = grading.grader_module(__file__, "video_metrics")


@pytest.fixture(scope="module")
def case():
    """True frames, and predictions that blur, shift by 2 or 4 pixels, or lose the disc."""
    target, positions = moving_shapes(8, frames=6, seed=89)
    predicted = target.copy()
    predicted[0] = np.roll(target[0], 2, axis=2)  # 2 pixels down: still tracked
    predicted[1] = np.roll(target[1], 4, axis=3)  # 4 pixels right: lost
    predicted[2] = np.minimum(target[2], 0.7)  # nothing brighter than 0.8
    predicted[3] = (target[3] + np.roll(target[3], 1, axis=0)) / 2  # half the previous frame
    predicted[4:] = np.clip(target[4:] + np.random.default_rng(90).normal(0, 0.1, target[4:].shape), 0, 1)
    return predicted.astype(np.float32), target, positions


# Bright pixels (row, column) and true centres a little either side of the 3-pixel limit:
# pixel centres at (i, j) instead of (i + 0.5, j + 0.5), or "within 3 pixels" read per axis (a square),
# put each one on the wrong side. One video, one case per horizon.
NEAR_THE_LIMIT = (
    ([(10, 10)], (13.4, 10.5)),  # 2.9 pixels away: tracked
    ([(20, 5)], (20.5, 8.4)),  # 2.9 pixels away, along the columns: tracked
    ([(15, 15), (15, 16), (16, 15), (16, 16)], (16.0, 18.9)),  # a 2x2 disc, 2.9 pixels away: tracked
    ([(10, 10)], (13.0, 13.0)),  # 3.54 pixels away, less than 3 along each axis: lost
    ([(5, 20)], (3.0, 23.0)),  # the same, the other diagonal: lost
    ([(10, 10)], (7.3, 10.0)),  # 3.24 pixels away, 2.7 from the pixel's corner: lost
)


@pytest.fixture(scope="module")
def near_the_limit():
    """Frames of one video, each with a few bright pixels; their true centres near the 3-pixel limit."""
    frames = np.zeros((1, len(NEAR_THE_LIMIT), 32, 32, 1), dtype=np.float32)
    positions = np.zeros((1, len(NEAR_THE_LIMIT), 2), dtype=np.float32)
    for horizon, (pixels, centre) in enumerate(NEAR_THE_LIMIT):
        for row, column in pixels:
            frames[0, horizon, row, column, 0] = 1.0
        positions[0, horizon] = centre
    return frames, frames.copy(), positions


def _measure(student, case) -> dict:
    result = student.call("evaluate_rollouts", *case)
    assert isinstance(result, dict) and {"mse", "ssim", "tracked"} <= set(result), _(
        "evaluate_rollouts should return a dict with the keys mse, ssim and tracked"
    )
    horizon = case[1].shape[1]
    for key in ("mse", "ssim", "tracked"):
        shape = np.shape(result[key])
        assert shape == (horizon,), _(
            "evaluate_rollouts: {key} should hold one value per horizon ({horizon},), not {shape}",
            key=key,
            horizon=horizon,
            shape=shape,
        )
    return {key: np.asarray(result[key], dtype=np.float64) for key in ("mse", "ssim", "tracked")}


@pytest.fixture(scope="module")
def measured(student, case):
    return _measure(student, case)


@pytest.mark.points(1)
def test_evaluate_rollouts_mse_and_ssim(case, measured):
    expected = metrics.reference(*case)
    assert np.allclose(measured["mse"], expected["mse"], **lib.TENSORS), _(
        "the per-horizon MSE is not the mean squared pixel error over the videos"
    )
    assert np.allclose(measured["ssim"], expected["ssim"], **lib.FLOAT32_CHAIN), _(
        "the per-horizon SSIM is not tf.image.ssim's (11x11 Gaussian window, sigma 1.5, no padding, "
        "max_val 1) averaged over the videos"
    )


@pytest.mark.points(1)
def test_evaluate_rollouts_tracks_the_disc(student, case, measured, near_the_limit):
    expected = metrics.reference(*case)["tracked"]
    assert np.allclose(measured["tracked"], expected, **lib.FLOAT32), _(
        "the per-horizon share of videos whose disc is tracked is wrong: the disc is at the mean position "
        "of the pixels brighter than 0.8 (pixel centres at i + 0.5), tracked within 3 pixels of its true "
        "centre, lost when no pixel is brighter than 0.8"
    )
    expected = metrics.reference(*near_the_limit)["tracked"]
    assert np.allclose(_measure(student, near_the_limit)["tracked"], expected, **lib.FLOAT32), _(
        "discs found a little under or over 3 pixels from their true centre are tracked or lost wrongly: "
        "pixel (i, j) has its centre at (i + 0.5, j + 0.5), and 3 pixels is a distance in the plane"
    )


@pytest.mark.points(1)
def test_evaluate_rollouts_refuses_mismatched_input(student, case):
    predicted, target, positions = case
    assert_accepts(student, "evaluate_rollouts", predicted, target, positions)
    for what, args in (
        (_("frames of different shapes"), (predicted[:, :5], target, positions)),
        (_("positions that do not match the frames"), (predicted, target, positions[:, :5])),
    ):
        lib.assert_refuses(
            student, "evaluate_rollouts", *args, what=_("evaluate_rollouts given {what}", what=what)
        )
