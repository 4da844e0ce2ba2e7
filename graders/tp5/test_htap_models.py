"""Hidden checks of the handed-in roll-outs and report (grade cell ``htap_models_tests``, 5 points).

``tap_rollout.keras`` and ``htap_rollout.keras`` are loaded with ``safe_mode=True`` in a worker
that runs no student code and predict 20 frames from 20 on videos of a seed drawn now; the numbers
of ``htap_report.json`` are recomputed on the videos it names.
"""

import json
import secrets

import numpy as np
import pytest

from tpdl import grading
from tpdl.videos import moving_shapes

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("htap_models_tests")

CONTEXT, HORIZON, SIZE = 20, 20, 32
FILES = {"tap": "tap_rollout.keras", "htap": "htap_rollout.keras"}
REPORT = "htap_report.json"
FRESH_VIDEOS, MAX_REPORT_VIDEOS = 64, 200
NEAR, FAR = slice(0, 10), slice(10, 20)  # horizons 1-10, 11-20
MAX_RATIO = 0.9  # H-TAP's far error over TAP's
MAX_BASELINE_RATIO = 0.8  # TAP's near error over that of the last context frame repeated
MSE_TOLERANCE, SSIM_TOLERANCE, TRACKED_TOLERANCE = 0.02, 0.01, 0.03  # relative; absolute; absolute

metrics = grading.grader_module(__file__, "video_metrics")


def _mse(predicted, target) -> np.ndarray:
    return ((np.asarray(predicted, dtype=np.float64) - target) ** 2).mean(axis=(0, 2, 3, 4))


@pytest.fixture(scope="module")
def rollouts(student):
    models = dict(zip(FILES, student.saved_models(*FILES.values())))
    for name, model in models.items():
        shapes = (tuple(model.description["input_shape"]), tuple(model.description["output_shape"]))
        assert shapes == ((None, CONTEXT, SIZE, SIZE, 1), (None, HORIZON, SIZE, SIZE, 1)), (
            f"{FILES[name]} should map (None, {CONTEXT}, 32, 32, 1) context frames to "
            f"(None, {HORIZON}, 32, 32, 1) predicted frames, not {shapes[0]} to {shapes[1]}"
        )
    return models


@pytest.fixture(scope="module")
def fresh(rollouts):
    seed = secrets.randbelow(2**31)
    videos, _ = moving_shapes(FRESH_VIDEOS, frames=CONTEXT + HORIZON, seed=seed)
    predicted = {
        name: np.asarray(model.predict(videos[:, :CONTEXT], batch_size=64))
        for name, model in rollouts.items()
    }
    return seed, videos, predicted


@pytest.mark.points(1)
def test_tap_is_a_real_baseline(fresh):
    seed, videos, predicted = fresh
    for name, frames in predicted.items():
        assert frames.shape == videos[:, CONTEXT:].shape, (
            f"{FILES[name]} predicts frames of shape {frames.shape}"
        )
        assert np.isfinite(frames).all(), f"{FILES[name]} predicts frames that are not finite (seed {seed})"
    still = np.repeat(videos[:, CONTEXT - 1 : CONTEXT], HORIZON, axis=1)  # the last context frame, repeated
    tap, repeated = (
        float(_mse(frames, videos[:, CONTEXT:])[NEAR].mean()) for frames in (predicted["tap"], still)
    )
    assert tap <= MAX_BASELINE_RATIO * repeated, (
        f"on fresh videos (seed {seed}) TAP's MSE over horizons 1-10 is {tap:.4f}, {tap / repeated:.2f} times "
        f"that of repeating the last context frame ({repeated:.4f}); a trained TAP does better than "
        f"{MAX_BASELINE_RATIO} times, and H-TAP must be compared with a real baseline"
    )


@pytest.mark.points(2)
def test_htap_beats_tap_far_ahead(student, fresh):
    seed, videos, predicted = fresh
    far = {name: float(_mse(frames, videos[:, CONTEXT:])[FAR].mean()) for name, frames in predicted.items()}
    ratio = far["htap"] / max(far["tap"], 1e-12)
    student.note = f"MSE at horizons 11-20: H-TAP {far['htap']:.4f}, TAP {far['tap']:.4f} (seed {seed})"
    assert ratio <= MAX_RATIO, (
        f"on {FRESH_VIDEOS} fresh videos (seed {seed}) H-TAP's MSE over horizons 11-20 is {far['htap']:.4f}, "
        f"{ratio:.2f} times TAP's {far['tap']:.4f}; at most {MAX_RATIO} times is needed"
    )


@pytest.mark.points(1)
def test_htap_uses_the_oldest_context_frames(rollouts, fresh):
    seed, videos, predicted = fresh
    context = videos[:, :CONTEXT].copy()
    context[:, : CONTEXT // 2] = np.roll(context[:, : CONTEXT // 2], 1, axis=0)  # another video's first half
    changed = np.asarray(rollouts["htap"].predict(context, batch_size=64))
    difference = float(np.abs(changed - predicted["htap"])[:, FAR].mean())
    assert difference > 1e-3, (
        f"when the first {CONTEXT // 2} context frames are those of other videos (seed {seed}), H-TAP's "
        f"predictions at horizons 11-20 change by {difference:.2g} per pixel on average: it ignores the long history"
    )


def _reported(student) -> dict:
    try:
        report = json.loads(student.read_file(REPORT))
    except ValueError:
        raise AssertionError(f"{REPORT} is not JSON") from None
    seed, count = (
        report.get("seed") if isinstance(report, dict) else None,
        report.get("videos") if isinstance(report, dict) else None,
    )
    assert (
        type(seed) is int and 0 <= seed < 2**63 and type(count) is int and 1 <= count <= MAX_REPORT_VIDEOS
    ), (
        f"{REPORT} should name its videos: an integer 'seed' and a number of 'videos' from 1 to {MAX_REPORT_VIDEOS}"
    )
    for name in FILES:
        for key in ("mse", "ssim", "tracked"):
            values = report.get(name, {}).get(key) if isinstance(report.get(name), dict) else None
            assert isinstance(values, list) and len(values) == HORIZON, (
                f"{REPORT} should give '{name}': '{key}' as a list of {HORIZON} numbers"
            )
            assert all(isinstance(v, (int, float)) for v in values), (
                f"{REPORT}: {name} {key} should be numbers"
            )
    return report


@pytest.mark.points(1)
def test_report_is_what_the_models_give(student, rollouts):
    report = _reported(student)
    videos, positions = moving_shapes(report["videos"], frames=CONTEXT + HORIZON, seed=report["seed"])
    wrong = []
    for name, model in rollouts.items():
        predicted = np.asarray(model.predict(videos[:, :CONTEXT], batch_size=64))
        measured = metrics.reference(predicted, videos[:, CONTEXT:], positions[:, CONTEXT:])
        reported = {key: np.asarray(report[name][key], dtype=np.float64) for key in measured}
        if not np.allclose(reported["mse"], measured["mse"], rtol=MSE_TOLERANCE, atol=lib.FLOAT32["atol"]):
            wrong.append(f"{name}'s MSE")
        if not np.allclose(reported["ssim"], measured["ssim"], atol=SSIM_TOLERANCE):
            wrong.append(f"{name}'s SSIM")
        if not np.allclose(reported["tracked"], measured["tracked"], atol=TRACKED_TOLERANCE):
            wrong.append(f"{name}'s share of tracked discs")
    assert not wrong, (
        f"{REPORT} is not what the handed-in roll-outs give on the {report['videos']} videos of seed "
        f"{report['seed']}: {', '.join(wrong)} differ (run the results cell again after training)"
    )
