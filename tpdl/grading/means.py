"""Deciding a threshold on the mean of a figure measured on fresh draws, with stated error rates.

A grader asks whether a handed-in model's figure (a Dice per phantom, an error per sequence, an
MSE per video), averaged over the whole distribution it draws from, is on the right side of a
threshold. It sees ``n`` fresh draws, so its verdict is random; each check here fails only on
strong evidence, so that a model exactly at the threshold fails with probability at most
:data:`ERROR_RATE`, and states how far beyond the threshold a model must be to pass with
probability at most :data:`ACCEPT_RATE` (its ``margin``).

:class:`BoundedMean` (a ``StatedCheck`` of :mod:`tpdl.grading.sequential`) takes per-item scores in
``[0, 1]``. It fails when the sample mean is past a critical value ``c`` with
``exp(-n KL(c || threshold)) <= ERROR_RATE`` (``KL`` between Bernoulli laws): by Hoeffding's
inequality (1963, Theorem 1) this bounds the false reject for *any* distribution on ``[0, 1]`` of
that mean. Distribution-free; the figures it states are bounds.

A comparison of unbounded per-item figures (two models' errors on the same video) is decided on
the share of items where it holds, with :class:`tpdl.grading.sequential.DrawnAccuracy` (a sign test).
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.optimize import brentq
from scipy.special import rel_entr

from tpdl.grading.sequential import ACCEPT_RATE, ERROR_RATE


def bernoulli_kl(p: float, q: float) -> float:
    """The Kullback-Leibler divergence between Bernoulli laws of means ``p`` and ``q``."""
    return float(rel_entr(p, q) + rel_entr(1 - p, 1 - q))


def _kl_root(threshold: float, rate: float, n: int, low: float, high: float) -> float:
    """The ``c`` in ``[low, high]`` with ``exp(-n * KL(c || threshold)) = rate``."""
    target = np.log(1 / rate) / n
    return brentq(lambda c: bernoulli_kl(c, threshold) - target, low, high, xtol=1e-12)


@dataclass(frozen=True)
class BoundedMean:
    """Is the mean of per-item scores in ``[0, 1]`` at least (``at_most=False``) or at most
    ``threshold``? Decided on ``n`` fresh items; distribution-free (Hoeffding)."""

    name: str
    threshold: float
    n: int
    sample: str  # the items, in words
    margin: float  # how far past the threshold a model passes at most ``accept_rate`` of the time
    reference: float  # the reference solution's figure (where it comes from: in the grader's comment)
    at_most: bool = False
    error_rate: float = ERROR_RATE
    accept_rate: float = ACCEPT_RATE
    kind: str = field(default="bound", init=False)  # reject_probability bounds the side that matters

    def __post_init__(self):
        if not 0 < self.threshold < 1:
            raise ValueError(
                f"a threshold on scores in [0, 1] must lie strictly inside, not {self.threshold}"
            )
        reachable = bernoulli_kl(1.0 if self.at_most else 0.0, self.threshold) * self.n
        if reachable < np.log(1 / self.error_rate):
            raise ValueError(
                f"{self.n} items cannot decide {self.name} at an error rate of {self.error_rate}"
            )

    @cached_property
    def critical(self) -> float:
        """The sample mean past which the check fails."""
        if self.at_most:
            return _kl_root(self.threshold, self.error_rate, self.n, self.threshold, 1.0)
        return _kl_root(self.threshold, self.error_rate, self.n, 0.0, self.threshold)

    @cached_property
    def least_margin(self) -> float:
        """How far past the threshold a true mean passes with probability at most ``accept_rate``
        (the stated ``margin`` is this, rounded up)."""
        c = self.critical
        target = np.log(1 / self.accept_rate) / self.n
        if self.at_most:
            return brentq(lambda q: bernoulli_kl(c, q) - target, c, 1.0, xtol=1e-12) - self.threshold
        return self.threshold - brentq(lambda q: bernoulli_kl(c, q) - target, 0.0, c, xtol=1e-12)

    def passes(self, scores) -> bool:
        """The verdict on the ``n`` per-item scores (each in ``[0, 1]``)."""
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != (self.n,) or not np.all((scores >= 0) & (scores <= 1)):
            raise ValueError(
                f"{self.name} needs {self.n} scores in [0, 1], not an array of shape {scores.shape}"
            )
        mean = float(scores.mean())
        return mean <= self.critical if self.at_most else mean >= self.critical

    def reject_probability(self, truth: float) -> float:
        """A bound, over every law on ``[0, 1]`` of mean ``truth``, on the side that matters: on the
        passing side of the critical value, at most this; on the failing side, at least this."""
        c = self.critical
        chance = float(np.exp(-self.n * bernoulli_kl(c, truth)))  # P(sample mean crosses c), bounded
        passing_side = truth < c if self.at_most else truth > c
        return chance if passing_side else 1.0 - chance
