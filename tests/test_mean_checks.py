"""Do the graders' checks on means of fresh draws (TP4's Dice, TP5's reversal and roll-outs) keep
their stated error rates: a model at the threshold failing at most 1e-4 of the time, the reference
far less, a model a stated margin past it passing at most 1e-3 of the time?"""

import numpy as np
import pytest
from scipy.stats import beta, binom

from tpdl import grading, manifest, paths
from tpdl.means import ROOM, BoundedMean, PairedRatio, bernoulli_kl
from tpdl.sequential import ACCEPT_RATE, ERROR_RATE

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
PAIRED = [p for p in CHECKS if isinstance(p.values[1], PairedRatio)]


def upper_bound(count: int, trials: int) -> float:
    """A bound the true rate stays under with confidence ``1 - CONFIDENCE`` (Clopper-Pearson)."""
    return 1.0 if count == trials else float(beta.ppf(1 - CONFIDENCE, count + 1, trials - count))


def past(check, margin: float) -> float:
    """The true figure ``margin`` past the threshold, on the failing side."""
    return check.threshold + margin if check.at_most else check.threshold - margin


@pytest.mark.parametrize(("assignment", "check"), CHECKS)
def test_checks_decide_on_the_manifests_numbers(assignment, check):
    stated = manifest.load(assignment)
    assert check.threshold in stated.thresholds.values() and check.n in stated.samples.values()
    assert check.margin in stated.samples.values() and check.least_margin <= check.margin
    assert check.reference < check.threshold if check.at_most else check.reference > check.threshold


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


@pytest.mark.parametrize(("assignment", "check"), PAIRED)
def test_a_paired_ratio_keeps_its_rates_on_the_references_videos(assignment, check):
    """Resampling the reference's per-video pairs, rescaled to sit exactly at the threshold: the
    false reject stays under 1e-4, with room; the reference never fails; a margin past, it fails."""
    rng = np.random.default_rng(28)
    trials = 200_000
    rejects = check.simulated_rejects(check.threshold, trials, rng)
    assert upper_bound(rejects, trials) <= ERROR_RATE, (
        f"{rejects} of {trials:,} gradings at the threshold failed"
    )
    assert np.isclose(check.reject_probability(check.threshold), ERROR_RATE / ROOM)
    assert check.simulated_rejects(check.reference, 20_000, rng) == 0
    assert check.reject_probability(check.reference) < 1e-12
    trials = 50_000
    accepts = trials - check.simulated_rejects(past(check, check.margin), trials, rng)
    assert upper_bound(accepts, trials) <= ACCEPT_RATE, (
        f"{accepts} of {trials:,} gradings a margin past passed"
    )
    assert 1 - check.reject_probability(past(check, check.margin)) <= ACCEPT_RATE


@pytest.mark.parametrize(("assignment", "check"), PAIRED)
def test_a_paired_ratio_at_its_threshold_passes_fresh_gradings(assignment, check):
    """A model exactly at the threshold (simulated from the reference's rescaled pairs) passes the
    grader's own decision on 20 fresh draws of videos."""
    a, b = check.pairs_at(check.threshold)
    assert np.isclose(a.mean() / b.mean(), check.threshold)
    for seed in SEEDS:
        picks = np.random.default_rng(seed).integers(len(a), size=check.n)
        assert check.passes(a[picks], b[picks])


def test_the_graders_decide_with_their_stated_checks():
    """The sample each grader draws is its check's ``n``; a grader's verdict is its check's."""
    unet, reversal, videos = (grader(a, n) for a, names in GRADERS.items() for n in names)
    assert unet.COUNT == unet.DICE.n and reversal.COUNT == reversal.ERROR.n == reversal.ANTI_DIAGONAL.n
    assert videos.FRESH_VIDEOS == videos.BASELINE.n == videos.FAR_AHEAD.n
    dice = unet.hard_dice(
        np.ones((2, 4, 4, 1)), np.array([1.0, 0.0])[:, None, None, None] * np.ones((2, 4, 4, 1))
    )
    assert np.allclose(dice, [1.0, 1 / 17])
    with pytest.raises(ValueError, match="scores in"):
        unet.DICE.passes(np.full(unet.COUNT, 1.5))
