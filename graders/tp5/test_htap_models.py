"""Hidden checks of the handed-in roll-outs and report (grade cell ``htap_models_tests``, 5 points).

``tap_rollout.keras`` and ``htap_rollout.keras`` are loaded with ``safe_mode=True`` in a worker
that runs no student code and predict 20 frames from 20 on videos of a seed drawn now; the numbers
of ``htap_report.json`` are recomputed on the videos it names. Each ratio of errors is compared
video by video, and a model must do it on at least half of the videos it could be given: decided on
fresh videos, look by look, with stated error rates (``tpdl.grading.sequential.DrawnAccuracy``, a sign test:
the videos are drawn independently, so the outcomes are independent, whatever their errors' law).
"""

import json
import secrets

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n, manifest
from tpdl.course.videos import moving_shapes
from tpdl.grading.sequential import DrawnAccuracy

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)
MANIFEST = manifest.beside(__file__)

pytestmark = pytest.mark.cell("htap_models_tests")

CONTEXT, HORIZON, SIZE = 20, 20, 32
FILES = {"tap": "tap_rollout.keras", "htap": "htap_rollout.keras"}
REPORT = "htap_report.json"
LOOKS, MAX_REPORT_VIDEOS = tuple(MANIFEST.samples["fresh_videos"]), 200
NEAR, FAR = slice(0, 10), slice(10, 20)  # horizons 1-10, 11-20
NEAR_RATIO, FAR_RATIO = MANIFEST.thresholds["tap_baseline_ratio"], MANIFEST.thresholds["htap_far_ratio"]


def _share_of_videos(name: str, reference: float) -> DrawnAccuracy:
    """Does a per-video comparison hold on at least the manifest's share of the videos?"""
    return DrawnAccuracy(
        name=name,
        threshold=MANIFEST.thresholds["video_wins"],
        looks=LOOKS,
        margin=MANIFEST.samples["video_wins_margin"],
        reference=reference,
        sample=f"{LOOKS[0]:,} to {LOOKS[-1]:,} fresh videos, looks at {', '.join(f'{n:,}' for n in LOOKS)}",
    )


# The reference's shares: its tap_rollout.keras and htap_rollout.keras (sample_class/reference/tp5) on the
# 512 videos of moving_shapes(512, frames=40, seed=99), whose per-video MSEs reference_pairs.json holds:
# 500 of them for TAP's near ratio, 429 for H-TAP's far ratio.
BASELINE = _share_of_videos(
    f"share of fresh videos where TAP's near MSE <= {NEAR_RATIO} x the last frame's", 500 / 512
)
FAR_AHEAD = _share_of_videos(f"share of fresh videos where H-TAP's far MSE <= {FAR_RATIO} x TAP's", 429 / 512)
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


class FreshVideos:
    """Videos drawn at grading time, look by look (look ``j`` from the seed ``seed + j``), and the
    per-video errors of the roll-outs on them, measured only as far as a check asks."""

    def __init__(self, rollouts: dict, seed: int):
        self.rollouts, self.seed = rollouts, seed
        self.videos, _positions = moving_shapes(LOOKS[0], frames=CONTEXT + HORIZON, seed=seed)
        self.predicted = {name: self._predict(model, self.videos) for name, model in rollouts.items()}
        # per video: the near MSE of TAP and of the last context frame repeated, the far MSE of each model
        self.errors: dict[str, np.ndarray] | None = None

    @staticmethod
    def _predict(model, videos) -> np.ndarray:
        return np.asarray(model.predict(videos[:, :CONTEXT], batch_size=64))

    @staticmethod
    def _measured(videos, predicted) -> dict[str, np.ndarray]:
        truth = videos[:, CONTEXT:]
        # the last context frame, repeated
        still = np.repeat(videos[:, CONTEXT - 1 : CONTEXT], HORIZON, axis=1)
        tap, htap, repeated = (_mse(frames, truth) for frames in (predicted["tap"], predicted["htap"], still))
        return {
            "tap_near": tap[:, NEAR].mean(axis=1),
            "still_near": repeated[:, NEAR].mean(axis=1),
            "tap_far": tap[:, FAR].mean(axis=1),
            "htap_far": htap[:, FAR].mean(axis=1),
        }

    def error(self, key: str, count: int) -> np.ndarray:
        """The first ``count`` videos' ``key`` error (``count``: one of the looks)."""
        if self.errors is None:
            self.errors = self._measured(self.videos, self.predicted)
        for look in range(1, LOOKS.index(count) + 1):
            if len(self.errors[key]) < LOOKS[look]:
                more, _positions = moving_shapes(
                    LOOKS[look] - LOOKS[look - 1], frames=CONTEXT + HORIZON, seed=self.seed + look
                )
                measured = self._measured(
                    more, {name: self._predict(model, more) for name, model in self.rollouts.items()}
                )
                self.errors = {k: np.concatenate([self.errors[k], measured[k]]) for k in self.errors}
        return self.errors[key][:count]

    def wins(self, key: str, than: str, ratio: float):
        """Whether each video asked has its ``key`` error at most ``ratio`` times its ``than`` error."""

        def correct_of(indices: np.ndarray) -> np.ndarray:
            count = int(indices[-1]) + 1
            return self.error(key, count)[indices] <= ratio * self.error(than, count)[indices]

        return correct_of


@pytest.fixture(scope="module")
def fresh(rollouts):
    return FreshVideos(rollouts, secrets.randbelow(2**31))


@pytest.mark.points(1)
def test_tap_is_a_real_baseline(fresh):
    for name, frames in fresh.predicted.items():
        assert frames.shape == fresh.videos[:, CONTEXT:].shape, _(
            "{file} predicts frames of shape {shape}", file=FILES[name], shape=frames.shape
        )
        assert np.isfinite(frames).all(), _(
            "{file} predicts frames that are not finite (seed {seed})", file=FILES[name], seed=fresh.seed
        )
    drawn = BASELINE.decide(fresh.wins("tap_near", "still_near", NEAR_RATIO), "fresh videos")
    assert drawn.passed, _(
        "TAP's MSE over horizons 1-10 is at most {max_ratio} times that of repeating the last context "
        "frame on only {wins} of {videos} fresh videos (seed {seed}): the sample is strong evidence that "
        "it does so on fewer than {share:.0%} of them; a trained TAP does, and H-TAP must be compared "
        "with a real baseline",
        max_ratio=NEAR_RATIO,
        wins=drawn.correct,
        videos=drawn.seen,
        seed=fresh.seed,
        share=BASELINE.threshold,
    )


@pytest.mark.points(2)
def test_htap_beats_tap_far_ahead(student, fresh):
    drawn = FAR_AHEAD.decide(fresh.wins("htap_far", "tap_far", FAR_RATIO), "fresh videos")
    far = {name: float(fresh.error(f"{name}_far", drawn.seen).mean()) for name in FILES}
    student.note = _(
        "MSE at horizons 11-20: H-TAP {htap:.4f}, TAP {tap:.4f} (seed {seed})",
        htap=far["htap"],
        tap=far["tap"],
        seed=fresh.seed,
    )
    assert drawn.passed, _(
        "H-TAP's MSE over horizons 11-20 is at most {max_ratio} times TAP's on only {wins} of {videos} "
        "fresh videos (seed {seed}): the sample is strong evidence that it does so on fewer than "
        "{share:.0%} of them",
        max_ratio=FAR_RATIO,
        wins=drawn.correct,
        videos=drawn.seen,
        seed=fresh.seed,
        share=FAR_AHEAD.threshold,
    )


@pytest.mark.points(1)
def test_htap_uses_the_oldest_context_frames(rollouts, fresh):
    seed, videos, predicted = fresh.seed, fresh.videos, fresh.predicted
    context = videos[:, :CONTEXT].copy()
    context[:, : CONTEXT // 2] = np.roll(context[:, : CONTEXT // 2], 1, axis=0)  # another video's first half
    changed = np.asarray(rollouts["htap"].predict(context, batch_size=64))
    difference = float(np.abs(changed - predicted["htap"])[:, FAR].mean())
    assert difference > 1e-3, _(
        "when the first {count} context frames are those of other videos (seed {seed}), H-TAP's predictions "
        "at horizons 11-20 change by {difference:.2g} per pixel on average: it ignores the long history",
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
