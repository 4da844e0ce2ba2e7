"""Hidden checks of ``dropout`` (grade cell ``dropout_tests``, 3 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array
from tpdl.judge.wire import Rng

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("dropout_tests")

X = np.random.default_rng(31).uniform(0.5, 2.0, size=(200, 500))  # 100,000 positive values
# Ten values at rate 0.5, once per seed: each value dropped independently, the number dropped is
# binomial (10, 0.5), which is 5 one time in four (0.246); the same number for all 30 seeds, once
# in 10**18. A dropout that drops a fixed share of x (round(rate * size) values) always drops 5.
FEW = X[0, :10]
COUNT_SEEDS = range(100, 130)


def kept_fraction_bounds(rate: float, count: int, sigmas: float = 6.0) -> tuple[float, float]:
    """Where the fraction of kept values falls but once in a billion draws (binomial, normal bound;
    :data:`STATED_CHECKS` states the exact figure)."""
    keep = 1.0 - rate
    spread = sigmas * np.sqrt(keep * rate / count)
    return keep - spread, keep + spread


TRAINING_RATES = ((0.3, 3), (0.8, 4))  # (rate, seed) of the training calls
# A correct dropout keeps a binomial share of X; one whose rate is off by 1.4 points is caught.
STATED_CHECKS = [
    lib.sequential.ShareWithin(
        name=f"TP2 dropout at rate {rate}: share of values kept",
        threshold=1.0 - rate,
        count=X.size,
        low=kept_fraction_bounds(rate, X.size)[0],
        high=kept_fraction_bounds(rate, X.size)[1],
        margin=0.014,
        reference=1.0 - rate,
        sample=f"the {X.size:,} values of one call",
    )
    for rate, __ in TRAINING_RATES
]


@pytest.mark.points(1)
def test_dropout_identity_at_inference(student):
    for rate in (0.5, 0.2):
        y = as_array(
            student.call("dropout", X[:50], rate, False, Rng(1)), _("the output of dropout"), (50, 500)
        )
        assert np.array_equal(y, X[:50]), _(
            "at inference (training=False), dropout should return x unchanged"
        )
    y = as_array(student.call("dropout", X[:50], 0.0, True, Rng(2)), _("the output of dropout"), (50, 500))
    assert np.array_equal(y, X[:50]), _("at rate 0, dropout should return x unchanged")


@pytest.mark.points(1)
def test_dropout_training_drops_and_rescales(student):
    for (rate, seed), kept_share in zip(TRAINING_RATES, STATED_CHECKS):
        answer, (x_after, *__), __ = student.call_and_inputs("dropout", X, rate, True, Rng(seed))
        y = as_array(answer, _("the output of dropout"), X.shape)
        assert np.array_equal(np.asarray(x_after), X), _(
            "dropout changed the array x it was given: return a new one"
        )
        kept = y != 0
        assert kept_share.within(kept.mean()), _(
            "at rate {rate}, dropout kept {share:.1%} of the values; each value should be dropped "
            "with probability {rate}",
            rate=rate,
            share=kept.mean(),
        )
        assert np.allclose(y[kept], X[kept] / (1.0 - rate), **lib.FLOAT64), _(
            "at rate {rate}, the values kept are not scaled so that the expectation of the output equals x",
            rate=rate,
        )
        rows = kept.mean(axis=1)
        assert rows.min() > 0 and rows.max() < 1, _(
            "dropout should drop values independently, not whole rows"
        )
    dropped = set()
    for seed in COUNT_SEEDS:
        y = as_array(
            student.call("dropout", FEW, 0.5, True, Rng(seed)), _("the output of dropout"), FEW.shape
        )
        dropped.add(int(np.sum(y == 0)))
    assert len(dropped) > 1, _(
        "dropout of {size} values at rate 0.5 dropped the same number of them for each of "
        "{seeds} seeds: each value should be dropped with probability rate, independently "
        "of the others, not a fixed share of x",
        size=FEW.size,
        seeds=len(COUNT_SEEDS),
    )


@pytest.mark.points(1)
def test_dropout_uses_rng_and_checks_rate(student):
    first = as_array(
        student.call("dropout", X[:20], 0.5, True, Rng(5)), _("the output of dropout"), (20, 500)
    )
    again = as_array(
        student.call("dropout", X[:20], 0.5, True, Rng(5)), _("the output of dropout"), (20, 500)
    )
    other = as_array(
        student.call("dropout", X[:20], 0.5, True, Rng(6)), _("the output of dropout"), (20, 500)
    )
    assert np.array_equal(first != 0, again != 0), _("the same seed should give the same mask: draw from rng")
    assert not np.array_equal(first != 0, other != 0), _(
        "different seeds should give different masks: draw from rng"
    )
    for rate in (1.0, -0.1, 1.5):
        lib.assert_refuses(
            student, "dropout", X[:2], rate, True, Rng(7), what=_("dropout with rate {rate}", rate=rate)
        )
