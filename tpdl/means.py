"""Deciding a threshold on the mean of a figure measured on fresh draws, with stated error rates.

A grader asks whether a handed-in model's figure (a Dice per phantom, an error per sequence, an
MSE per video), averaged over the whole distribution it draws from, is on the right side of a
threshold. It sees ``n`` fresh draws, so its verdict is random; each check here fails only on
strong evidence, so that a model exactly at the threshold fails with probability at most
:data:`ERROR_RATE`, and states how far beyond the threshold a model must be to pass with
probability at most :data:`ACCEPT_RATE` (its ``margin``).

Two kinds, each with :meth:`reject_probability` (the ``StatedCheck`` of :mod:`tpdl.sequential`):

* :class:`BoundedMean`: per-item scores in ``[0, 1]``. It fails when the sample mean is past a
  critical value ``c`` with ``exp(-n KL(c || threshold)) <= ERROR_RATE`` (``KL`` between
  Bernoulli laws): by Hoeffding's inequality (1963, Theorem 1) this bounds the false reject for
  *any* distribution on ``[0, 1]`` of that mean. Distribution-free; the figures it states are bounds.
* :class:`PairedRatio`: is ``E[a] <= threshold * E[b]``, for unbounded per-item pairs (two models'
  errors on the same video)? With ``d = a - threshold * b`` it fails when Student's t statistic of
  ``d`` exceeds its ``1 - ERROR_RATE / ROOM`` quantile. The t law is an approximation here (``d`` is
  not normal); it is given a factor :data:`ROOM` of room, its figures are estimates from the
  reference's own per-item pairs, and :meth:`PairedRatio.simulated_rejects` lets a test check them by
  resampling those pairs.
"""

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy.optimize import brentq
from scipy.special import rel_entr
from scipy.stats import nct
from scipy.stats import t as student_t

from tpdl.sequential import ACCEPT_RATE, ERROR_RATE

ROOM = 5  # how much lower than ERROR_RATE an approximate check is decided, for the approximation's sake


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


@dataclass(frozen=True)
class PairedRatio:
    """Is ``E[a] <= threshold * E[b]`` (``a``, ``b``: two per-item figures on the same ``n`` fresh
    items)? Fails when the one-sided t statistic of ``d = a - threshold * b`` passes
    :attr:`critical`. ``reference_pairs`` (a JSON file, ``{"source": ..., pairs: {"a": [...], "b":
    [...]}}``) holds the reference's own per-item figures, which the stated figures are estimated from."""

    name: str
    threshold: float
    n: int
    sample: str
    margin: (
        float  # how far above the threshold a ratio passes at most ``accept_rate`` of the time (estimated)
    )
    reference_pairs: Path
    pairs: str  # their key in that file
    error_rate: float = ERROR_RATE
    accept_rate: float = ACCEPT_RATE
    at_most: bool = field(default=True, init=False)
    kind: str = field(default="estimate", init=False)  # reject_probability is a normal-model estimate

    @cached_property
    def critical(self) -> float:
        """The t statistic past which the check fails: Student's quantile at ``error_rate / ROOM``."""
        return float(student_t.isf(self.error_rate / ROOM, self.n - 1))

    def statistic(self, a, b) -> float:
        """The t statistic of ``a - threshold * b`` (per-item arrays of length ``n``)."""
        d = np.asarray(a, dtype=np.float64) - self.threshold * np.asarray(b, dtype=np.float64)
        if d.shape != (self.n,) or not np.isfinite(d).all():
            raise ValueError(f"{self.name} needs {self.n} finite pairs, not an array of shape {d.shape}")
        spread = d.std(ddof=1)
        if spread == 0:
            return float(np.sign(d.mean()) * np.inf)
        return float(d.mean() / (spread / np.sqrt(self.n)))

    def passes(self, a, b) -> bool:
        return self.statistic(a, b) <= self.critical

    @cached_property
    def _pairs(self) -> tuple[np.ndarray, np.ndarray]:
        measured = json.loads(Path(self.reference_pairs).read_text())
        pairs = measured[self.pairs]
        return np.asarray(pairs["a"], dtype=np.float64), np.asarray(pairs["b"], dtype=np.float64)

    @cached_property
    def reference(self) -> float:
        """The reference's ratio ``mean(a) / mean(b)`` on its stored items."""
        a, b = self._pairs
        return float(a.mean() / b.mean())

    def pairs_at(self, truth: float) -> tuple[np.ndarray, np.ndarray]:
        """The reference's pairs with ``a`` rescaled so that their ratio of means is ``truth``."""
        a, b = self._pairs
        return a * (truth / self.reference), b

    def reject_probability(self, truth: float) -> float:
        """An estimate: the failure rate if ``d`` were normal, with the mean and spread of the
        reference's pairs rescaled to the ratio ``truth`` (noncentral t)."""
        a, b = self.pairs_at(truth)
        d = a - self.threshold * b
        return float(nct.sf(self.critical, self.n - 1, np.sqrt(self.n) * d.mean() / d.std(ddof=1)))

    @cached_property
    def least_margin(self) -> float:
        """How far above the threshold a ratio passes with an estimated probability of ``accept_rate``
        (the stated ``margin`` is this, rounded up)."""
        return brentq(
            lambda m: 1 - self.reject_probability(self.threshold + m) - self.accept_rate, 0.0, 100.0
        )

    def simulated_rejects(self, truth: float, trials: int, rng: np.random.Generator) -> int:
        """How many of ``trials`` samples of ``n`` pairs, drawn with replacement from the reference's
        pairs rescaled to the ratio ``truth``, fail the check."""
        a, b = self.pairs_at(truth)
        rejects = 0
        for start in range(0, trials, 10_000):
            picks = rng.integers(len(a), size=(min(10_000, trials - start), self.n))
            d = a[picks] - self.threshold * b[picks]
            t = d.mean(axis=1) / (d.std(axis=1, ddof=1) / np.sqrt(self.n))
            rejects += int((t > self.critical).sum())
        return rejects
