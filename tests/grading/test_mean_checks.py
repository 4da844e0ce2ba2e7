"""Do the graders' checks on fresh draws (TP4's Dice, TP5's reversal, and TP5's roll-outs compared
video by video) keep their stated error rates: a model at the threshold failing at most 1e-4 of the
time, the reference far less, a model a stated margin past it passing at most 1e-3 of the time?"""

import json

import numpy as np
import pytest
from scipy.stats import beta, binom

from tpdl import grading
from tpdl.core import manifest, paths
from tpdl.course.videos import moving_shapes
from tpdl.grading.means import BoundedMean, bernoulli_kl
from tpdl.grading.sequential import ACCEPT_RATE, ERROR_RATE, DrawnAccuracy

GRADERS = {"tp4": ["test_unet_model"], "tp5": ["test_reversal_model", "test_htap_models"]}
CONFIDENCE = 1e-3  # a simulated rate is bounded by its one-sided Clopper-Pearson bound at 1 - this
SEEDS = range(20)  # gradings of a model at each threshold


def grader(assignment: str, name: str):
    return grading.grader_module(str(paths.graders(assignment) / f"{name}.py"), name)


CHECKS = [
    pytest.param(assignment, check, id=f"{assignment}/{check.name}")
    for assignment, names in GRADERS.items()
    for name in names
    for check in grader(assignment, name).STATED_CHECKS
]
BOUNDED = [p for p in CHECKS if isinstance(p.values[1], BoundedMean)]
SHARES = [p.values[1] for p in CHECKS if isinstance(p.values[1], DrawnAccuracy)]


def upper_bound(count: int, trials: int) -> float:
    """A bound the true rate stays under with confidence ``1 - CONFIDENCE`` (Clopper-Pearson)."""
    return 1.0 if count == trials else float(beta.ppf(1 - CONFIDENCE, count + 1, trials - count))


def past(check, margin: float) -> float:
    """The true figure ``margin`` past the threshold, on the failing side."""
    return check.threshold + margin if check.at_most else check.threshold - margin


@pytest.mark.parametrize(("assignment", "check"), CHECKS)
def test_checks_decide_on_the_manifests_numbers(assignment, check):
    stated = manifest.load(assignment)
    assert check.threshold in stated.thresholds.values() and check.margin in stated.samples.values()
    if isinstance(check, DrawnAccuracy):
        assert list(check.looks) in stated.samples.values()
    else:
        assert check.n in stated.samples.values() and check.least_margin <= check.margin
    at_most = getattr(check, "at_most", False)
    assert check.reference < check.threshold if at_most else check.reference > check.threshold


@pytest.mark.parametrize(("assignment", "check"), BOUNDED)
def test_a_bounded_mean_keeps_its_rates_on_the_worst_law(assignment, check):
    """Hoeffding's bound against the exact rates of the Bernoulli law (items all 0 or 1), the law
    that reaches it: at the threshold, at the reference, a margin past the threshold."""
    n, c = check.n, check.critical
    # P(the check fails) for Bernoulli items of mean p: the sample mean on the failing side of c.
    exact = (
        (lambda p: binom.sf(np.floor(n * c), n, p))
        if check.at_most
        else (lambda p: binom.cdf(np.ceil(n * c) - 1, n, p))
    )
    assert exact(check.threshold) <= check.reject_probability(check.threshold) <= ERROR_RATE * (1 + 1e-9)
    assert exact(check.reference) <= check.reject_probability(check.reference) < 1e-12
    wrong = past(check, check.margin)
    assert 1 - exact(wrong) <= 1 - check.reject_probability(wrong) <= ACCEPT_RATE
    assert np.isclose(n * bernoulli_kl(c, check.threshold), np.log(1 / ERROR_RATE))


@pytest.mark.parametrize(("assignment", "check"), BOUNDED)
def test_a_bounded_mean_at_its_threshold_passes_fresh_gradings(assignment, check):
    """A model exactly at the threshold (simulated: Bernoulli items, the hardest law), graded by the
    grader's own decision on fresh items again and again, passes every time; one a margin past fails."""
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        assert check.passes(rng.uniform(size=check.n) < check.threshold)
        assert not check.passes(rng.uniform(size=check.n) < past(check, check.margin))


# --------------------------------------------------------------------------- TP5's videos: sign tests

VIDEOS = grader("tp5", "test_htap_models")
REFERENCE_PAIRS = paths.graders("tp5") / "reference_pairs.json"
RATIOS = {"tap_baseline": VIDEOS.NEAR_RATIO, "htap_far": VIDEOS.FAR_RATIO}


@pytest.mark.parametrize("check", SHARES, ids=lambda check: check.name)
def test_a_share_of_videos_keeps_its_exact_rates(check):
    """The sign test's rates, exact by the dynamic programme over the looks: a model winning on half
    the videos fails at most 1e-4 of the time, the reference far less, one a margin below passes at
    most 1e-3 of the time; and the programme agrees with the check's own decisions, simulated."""
    assert check.reject_probability(check.threshold) <= ERROR_RATE
    assert check.reject_probability(check.reference) < 1e-12
    assert 1 - check.reject_probability(check.threshold - check.margin) <= ACCEPT_RATE
    rng, trials, truth = np.random.default_rng(5), 4000, check.threshold - check.margin / 2
    rejects = sum(
        not check.decide(lambda i: rng.random(len(i)) < truth, "draws").passed for __ in range(trials)
    )
    expected = check.reject_probability(truth)
    assert (
        binom.cdf(rejects, trials, expected) > CONFIDENCE
        and binom.sf(rejects - 1, trials, expected) > CONFIDENCE
    )


def test_the_references_shares_are_those_of_its_measured_videos():
    """The reference's stated share of wins is what its stored per-video errors give."""
    measured = json.loads(REFERENCE_PAIRS.read_text())
    for check, key in ((VIDEOS.BASELINE, "tap_baseline"), (VIDEOS.FAR_AHEAD, "htap_far")):
        a, b = (np.asarray(measured[key][side]) for side in ("a", "b"))
        assert len(a) == 512 and check.reference == np.mean(a <= RATIOS[key] * b)


@pytest.mark.parametrize("check", SHARES, ids=lambda check: check.name)
def test_a_model_winning_half_the_videos_passes_fresh_gradings(check):
    """A simulated model that wins on each video with probability exactly one half passes the
    grader's own decision with 20 fresh seeds; one a margin below fails most of them."""

    def gradings(truth: float, seeds) -> list[bool]:
        rngs = [np.random.default_rng(seed) for seed in seeds]
        return [check.decide(lambda i, rng=rng: rng.random(len(i)) < truth, "draws").passed for rng in rngs]

    assert all(gradings(check.threshold, SEEDS))
    assert sum(gradings(check.threshold - check.margin, range(len(SEEDS), 2 * len(SEEDS)))) <= len(SEEDS) // 4


def simulated_rejects(check, ratio: float, spread: float, trials: int, rng: np.random.Generator) -> int:
    """How many of ``trials`` gradings by ``check`` fail when, on each video, TAP's error is
    lognormal of log-spread ``spread`` (it sometimes blows up) and H-TAP's steady, ``ratio`` times
    TAP's median error with a log-spread of 0.25: H-TAP wins on exactly half the videos, and
    ``a - ratio * b`` has a long left tail."""
    rejects, undecided, wins, seen = 0, trials, np.zeros(trials, dtype=np.int64), 0
    for size in check.looks:
        b = rng.lognormal(0.0, spread, size=(undecided, size - seen))
        a = ratio * rng.lognormal(0.0, 0.25, size=(undecided, size - seen))
        wins, seen = wins + (a <= ratio * b).sum(axis=1), size
        floor, ceiling = check.bounds[size]
        rejects += int((wins < floor).sum())
        wins = wins[(wins >= floor) & (wins < ceiling)]
        undecided = len(wins)
    return rejects


@pytest.mark.parametrize("spread", [1.0, 1.5])
def test_a_left_skewed_error_at_the_threshold_keeps_the_false_reject(spread):
    """The case a t test on ``a - ratio * b`` gets wrong (a false reject of 1.6e-3 to 1e-2): the sign
    test sees only which side of the ratio each video falls, so its false reject is the binomial
    one. 20,000 simulated gradings fail no more often than a rate of 1e-4 allows (a rate of 1e-3
    would fail about 20 of them)."""
    check, trials = VIDEOS.FAR_AHEAD, 20_000
    rejects = simulated_rejects(
        check, VIDEOS.FAR_RATIO, spread, trials, np.random.default_rng(round(spread * 10))
    )
    assert binom.sf(rejects - 1, trials, ERROR_RATE) > CONFIDENCE, f"{rejects} of {trials:,} gradings failed"


def test_the_graders_decide_with_their_stated_checks():
    """The sample each grader draws is its check's; a grader's verdict is its check's."""
    unet, reversal = grader("tp4", "test_unet_model"), grader("tp5", "test_reversal_model")
    assert unet.COUNT == unet.DICE.n and reversal.COUNT == reversal.ERROR.n == reversal.ANTI_DIAGONAL.n
    assert VIDEOS.LOOKS == VIDEOS.BASELINE.looks == VIDEOS.FAR_AHEAD.looks
    dice = unet.hard_dice(
        np.ones((2, 4, 4, 1)), np.array([1.0, 0.0])[:, None, None, None] * np.ones((2, 4, 4, 1))
    )
    assert np.allclose(dice, [1.0, 1 / 17])
    with pytest.raises(ValueError, match="scores in"):
        unet.DICE.passes(np.full(unet.COUNT, 1.5))


class Constant:
    """A roll-out that predicts ``value`` everywhere, as the worker's stand-in answers."""

    def __init__(self, value: float):
        self.value = value

    def predict(self, context, batch_size: int):
        return np.full((len(context), VIDEOS.HORIZON, *context.shape[2:]), self.value, dtype=np.float32)


def test_the_videos_grow_look_by_look_from_their_seeds():
    """Past the first look, the grader draws each look's videos from its own seed and measures the
    roll-outs on them: the errors it decides on are those of those videos."""
    fresh = VIDEOS.FreshVideos({"tap": Constant(0.0), "htap": Constant(0.5)}, seed=11)
    errors = fresh.error("htap_far", VIDEOS.LOOKS[1])
    expected = []
    for look, (start, stop) in enumerate(zip((0, VIDEOS.LOOKS[0]), VIDEOS.LOOKS[:2])):
        videos, __ = moving_shapes(stop - start, frames=VIDEOS.CONTEXT + VIDEOS.HORIZON, seed=11 + look)
        expected.append(((videos[:, VIDEOS.CONTEXT :][:, VIDEOS.FAR] - 0.5) ** 2).mean(axis=(1, 2, 3, 4)))
    assert np.allclose(errors, np.concatenate(expected))
    wins = fresh.wins("htap_far", "tap_far", VIDEOS.FAR_RATIO)(np.arange(VIDEOS.LOOKS[0], VIDEOS.LOOKS[1]))
    assert wins.shape == (VIDEOS.LOOKS[1] - VIDEOS.LOOKS[0],) and not wins.any()  # 0.5 is far off dim videos
