"""Hidden checks of the handed-in roll-outs and report (grade cell ``htap_models_tests``, 5 points).

``tap_rollout.keras`` and ``htap_rollout.keras`` are loaded with ``safe_mode=True`` in a worker
that runs no student code and predict 20 frames from 20 on videos of a seed drawn now; the numbers
of ``htap_report.json`` are recomputed on the videos it names. The ratios of mean errors on fresh
videos are decided with a stated error rate (``tpdl.means.PairedRatio``, per-video pairs).
"""

import json
import secrets
from pathlib import Path

import numpy as np
import pytest

from tpdl import grading, i18n, manifest
from tpdl.means import PairedRatio
from tpdl.videos import moving_shapes

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)
MANIFEST = manifest.beside(__file__)

pytestmark = pytest.mark.cell("htap_models_tests")

CONTEXT, HORIZON, SIZE = 20, 20, 32
FILES = {"tap": "tap_rollout.keras", "htap": "htap_rollout.keras"}
REPORT = "htap_report.json"
FRESH_VIDEOS, MAX_REPORT_VIDEOS = MANIFEST.samples["fresh_videos"], 200
NEAR, FAR = slice(0, 10), slice(10, 20)  # horizons 1-10, 11-20
REFERENCE_PAIRS = Path(__file__).with_name("reference_pairs.json")  # the reference's per-video MSEs
BASELINE = PairedRatio(  # TAP's near error over that of the last context frame repeated
    name="TAP's near MSE over the last context frame's, fresh videos",
    threshold=MANIFEST.thresholds["tap_baseline_ratio"],
    n=FRESH_VIDEOS,
    sample=f"{FRESH_VIDEOS} fresh videos",
    margin=MANIFEST.samples["tap_baseline_margin"],
    reference_pairs=REFERENCE_PAIRS,
    pairs="tap_baseline",
)
FAR_AHEAD = PairedRatio(  # H-TAP's far error over TAP's
    name="H-TAP's far MSE over TAP's, fresh videos",
    threshold=MANIFEST.thresholds["htap_far_ratio"],
    n=FRESH_VIDEOS,
    sample=f"{FRESH_VIDEOS} fresh videos",
    margin=MANIFEST.samples["htap_far_margin"],
    reference_pairs=REFERENCE_PAIRS,
    pairs="htap_far",
)
STATED_CHECKS = [BASELINE, FAR_AHEAD]
MSE_TOLERANCE, SSIM_TOLERANCE, TRACKED_TOLERANCE = 0.02, 0.01, 0.03  # relative; absolute; absolute

metrics = grading.grader_module(__file__, "video_metrics")


def _mse(predicted, target) -> np.ndarray:
    """Per video and horizon."""
    return ((np.asarray(predicted, dtype=np.float64) - target) ** 2).mean(axis=(2, 3, 4))


@pytest.fixture(scope="module")
def rollouts(student):
    models = dict(zip(FILES, student.saved_models(*FILES.values())))
    for name, model in models.items():
        shapes = (tuple(model.description["input_shape"]), tuple(model.description["output_shape"]))
        assert shapes == ((None, CONTEXT, SIZE, SIZE, 1), (None, HORIZON, SIZE, SIZE, 1)), _(
            "{file} should map (None, {context}, 32, 32, 1) context frames to "
            "(None, {horizon}, 32, 32, 1) predicted frames, not {input_shape} to {output_shape}",
            file=FILES[name],
            context=CONTEXT,
            horizon=HORIZON,
            input_shape=shapes[0],
            output_shape=shapes[1],
        )
    return models


@pytest.fixture(scope="module")
def fresh(rollouts):
    seed = secrets.randbelow(2**31)
    videos, _positions = moving_shapes(FRESH_VIDEOS, frames=CONTEXT + HORIZON, seed=seed)
    predicted = {
        name: np.asarray(model.predict(videos[:, :CONTEXT], batch_size=64))
        for name, model in rollouts.items()
    }
    return seed, videos, predicted


@pytest.mark.points(1)
def test_tap_is_a_real_baseline(fresh):
    seed, videos, predicted = fresh
    for name, frames in predicted.items():
        assert frames.shape == videos[:, CONTEXT:].shape, _(
            "{file} predicts frames of shape {shape}", file=FILES[name], shape=frames.shape
        )
        assert np.isfinite(frames).all(), _(
            "{file} predicts frames that are not finite (seed {seed})", file=FILES[name], seed=seed
        )
    still = np.repeat(videos[:, CONTEXT - 1 : CONTEXT], HORIZON, axis=1)  # the last context frame, repeated
    tap, repeated = (
        _mse(frames, videos[:, CONTEXT:])[:, NEAR].mean(axis=1) for frames in (predicted["tap"], still)
    )
    assert BASELINE.passes(tap, repeated), _(
        "on {videos} fresh videos (seed {seed}) TAP's MSE over horizons 1-10 is {tap:.4f}, {ratio:.2f} times "
        "that of repeating the last context frame ({repeated:.4f}): enough above {max_ratio} times to show "
        "that TAP does not do better; a trained TAP does, and H-TAP must be compared with a real baseline",
        videos=FRESH_VIDEOS,
        seed=seed,
        tap=tap.mean(),
        ratio=tap.mean() / repeated.mean(),
        repeated=repeated.mean(),
        max_ratio=BASELINE.threshold,
    )


@pytest.mark.points(2)
def test_htap_beats_tap_far_ahead(student, fresh):
    seed, videos, predicted = fresh
    per_video = {
        name: _mse(frames, videos[:, CONTEXT:])[:, FAR].mean(axis=1) for name, frames in predicted.items()
    }
    far = {name: float(errors.mean()) for name, errors in per_video.items()}
    ratio = far["htap"] / max(far["tap"], 1e-12)
    student.note = _("MSE at horizons 11-20: H-TAP {htap:.4f}, TAP {tap:.4f} (seed {seed})",
                     htap=far["htap"], tap=far["tap"], seed=seed)  # fmt: skip
    assert FAR_AHEAD.passes(per_video["htap"], per_video["tap"]), _(
        "on {videos} fresh videos (seed {seed}) H-TAP's MSE over horizons 11-20 is {htap:.4f}, "
        "{ratio:.2f} times TAP's {tap:.4f}: enough above {max_ratio} times to show that it does not reach "
        "the {max_ratio} times needed",
        videos=FRESH_VIDEOS,
        seed=seed,
        htap=far["htap"],
        ratio=ratio,
        tap=far["tap"],
        max_ratio=FAR_AHEAD.threshold,
    )


@pytest.mark.points(1)
def test_htap_uses_the_oldest_context_frames(rollouts, fresh):
    seed, videos, predicted = fresh
    context = videos[:, :CONTEXT].copy()
    context[:, : CONTEXT // 2] = np.roll(context[:, : CONTEXT // 2], 1, axis=0)  # another video's first half
    changed = np.asarray(rollouts["htap"].predict(context, batch_size=64))
    difference = float(np.abs(changed - predicted["htap"])[:, FAR].mean())
    assert difference > 1e-3, _(
        "when the first {count} context frames are those of other videos (seed {seed}), H-TAP's "
        "predictions at horizons 11-20 change by {difference:.2g} per pixel on average: it ignores the long history",
        count=CONTEXT // 2,
        seed=seed,
        difference=difference,
    )


def _reported(student) -> dict:
    try:
        report = json.loads(student.read_file(REPORT))
    except ValueError:
        raise AssertionError(_("{report} is not JSON", report=REPORT)) from None
    seed, count = (
        report.get("seed") if isinstance(report, dict) else None,
        report.get("videos") if isinstance(report, dict) else None,
    )
    assert (
        type(seed) is int and 0 <= seed < 2**63 and type(count) is int and 1 <= count <= MAX_REPORT_VIDEOS
    ), _(
        "{report} should name its videos: an integer 'seed' and a number of 'videos' from 1 to {most}",
        report=REPORT,
        most=MAX_REPORT_VIDEOS,
    )
    for name in FILES:
        for key in ("mse", "ssim", "tracked"):
            values = report.get(name, {}).get(key) if isinstance(report.get(name), dict) else None
            assert isinstance(values, list) and len(values) == HORIZON, _(
                "{report} should give '{name}': '{key}' as a list of {horizon} numbers",
                report=REPORT,
                name=name,
                key=key,
                horizon=HORIZON,
            )
            assert all(isinstance(v, (int, float)) for v in values), _(
                "{report}: {name} {key} should be numbers", report=REPORT, name=name, key=key
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
            wrong.append(_("{name}'s MSE", name=name))
        if not np.allclose(reported["ssim"], measured["ssim"], atol=SSIM_TOLERANCE):
            wrong.append(_("{name}'s SSIM", name=name))
        if not np.allclose(reported["tracked"], measured["tracked"], atol=TRACKED_TOLERANCE):
            wrong.append(_("{name}'s share of tracked discs", name=name))
    assert not wrong, _(
        "{report} is not what the handed-in roll-outs give on the {videos} videos of seed "
        "{seed}: {wrong} differ (run the results cell again after training)",
        report=REPORT,
        videos=report["videos"],
        seed=report["seed"],
        wrong=", ".join(wrong),
    )
