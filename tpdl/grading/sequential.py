"""Deciding a classifier's accuracy thresholds on part of a test set, as the whole set would.

A grader asks whether a handed-in model classifies enough of a set correctly (at least the course's
69.74 % of CIFAR-10's 10,000 test images, say). Predicting all of them costs seconds a student;
a model far from the threshold is decided by a fraction. :func:`measure` predicts on a growing
random part of the set (a simple random sample without replacement, in an order drawn at grading
time) and stops at the first look where every question asked is settled for every accuracy the
whole set could still have.

The method: after ``n`` of the ``N`` items, ``k`` of them right, the number ``K`` of items of the
whole set the model gets right lies, with confidence ``1 - alpha``, in the exact interval of
the hypergeometric distribution (``k`` successes in ``n`` draws without replacement from ``N``
items of which ``K`` are successes): every ``K`` for which seeing ``k`` or more (for the lower end)
or ``k`` or fewer (for the upper end) has a probability above ``alpha / 2``. A question (a
predicate of the accuracy, monotone in it) is settled when it has one answer over the whole
interval. There are at most ``L`` looks before the last, so with ``alpha = ERROR_RATE / L``
(Bonferroni) the chance that any verdict differs from the whole set's is at most ``ERROR_RATE``;
the last look is the whole set, where the interval is the accuracy itself and every verdict is
exact. A model close to a threshold is therefore always measured on every item.
"""

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Protocol

import numpy as np
from scipy.stats import binom, hypergeom

from tpdl.core.i18n import KIT as _

ERROR_RATE = 1e-4  # the most likely a verdict decided on part of a set differs from the whole set's
FIRST_LOOK = 250  # items predicted before the first look; each further look doubles them

Predicate = Callable[[np.ndarray], np.ndarray]  # accuracies (floats in [0, 1]) -> verdicts (bools)


@dataclass(frozen=True)
class Accuracy:
    """What was measured of a classifier on a set of ``total`` items: ``correct`` of the ``seen``
    ones, and the interval ``[low, high]`` of counts right the whole set can have (exact when
    every item was seen)."""

    correct: int
    seen: int
    total: int
    low: int
    high: int
    where: str  # the set, in words ("the 10,000 test images of CIFAR-10")
    error_rate: float = ERROR_RATE

    @property
    def exact(self) -> bool:
        return self.seen == self.total

    @property
    def value(self) -> float:
        """The accuracy on the items seen (the whole set's when :attr:`exact`)."""
        return self.correct / self.seen if self.seen else 0.0

    def verdict(self, predicate: Predicate) -> bool:
        """The whole set's answer to ``predicate`` (one that :func:`measure` was asked to settle)."""
        answers = predicate(np.arange(self.low, self.high + 1) / self.total)
        if not (answers.all() or not answers.any()):
            raise ValueError("this question was not settled by the measurement (pass it to measure)")
        return bool(answers[0])

    def described(self, side: str = "low") -> str:
        """The figure a student reads: exact, or the bound on ``side`` (``low``, ``high``) with how
        it was decided."""
        if self.exact:
            return _("{value:.2%} of {where}", value=self.value, where=self.where)
        if side == "low":
            return _(
                "at least {bound:.2%} of {where} (measured on {seen:,} of them, decided with "
                "{confidence:.2%} "
                "confidence)",
                bound=self.low / self.total,
                where=self.where,
                seen=self.seen,
                confidence=1 - self.error_rate,
            )
        return _(
            "at most {bound:.2%} of {where} (measured on {seen:,} of them, decided with {confidence:.2%} "
            "confidence)",
            bound=self.high / self.total,
            where=self.where,
            seen=self.seen,
            confidence=1 - self.error_rate,
        )


def looks(total: int, first: int = FIRST_LOOK) -> list[int]:
    """How many items are predicted at each look: ``first``, doubling, then all ``total``."""
    sizes, size = [], max(1, first)
    while size < total:
        sizes.append(size)
        size *= 2
    return [*sizes, total]


def interval(correct: int, seen: int, total: int, alpha: float) -> tuple[int, int]:
    """The counts right ``K`` of the whole set under which ``correct`` of ``seen`` is not improbable
    (each tail above ``alpha / 2``): the exact hypergeometric confidence interval for ``K``.

    ``P(X >= correct | K)`` grows with ``K`` and ``P(X <= correct | K)`` shrinks with it, so each
    end is found by bisection.
    """
    if seen == total:
        return correct, correct
    wrong = seen - correct
    # Every K from `correct` (the items seen right) to `total - wrong` (all the others right) is possible.
    low = _first(correct, total - wrong, lambda k: hypergeom.sf(correct - 1, total, k, seen) > alpha / 2)
    high = _first(correct, total - wrong, lambda k: hypergeom.cdf(correct, total, k, seen) <= alpha / 2) - 1
    return low, max(low, high)


def _first(start: int, stop: int, condition: Callable[[int], bool]) -> int:
    """The first ``k`` in ``[start, stop]`` where the monotone ``condition`` holds (``stop + 1`` if none)."""
    while start <= stop:
        middle = (start + stop) // 2
        if condition(middle):
            stop = middle - 1
        else:
            start = middle + 1
    return start


def decide(
    correct_of: Callable[[np.ndarray], np.ndarray],
    total: int,
    predicates: Sequence[Predicate],
    where: str,
    *,
    error_rate: float = ERROR_RATE,
    first: int = FIRST_LOOK,
    rng: np.random.Generator | None = None,
) -> Accuracy:
    """Settle every one of ``predicates`` for the accuracy on all ``total`` items, asking
    ``correct_of(indices)`` (whether each of those items is classified right) for as few as it can.

    With no predicate, every item is measured.
    """
    if total < 1:
        raise ValueError("an accuracy needs at least one item")
    rng = rng or np.random.default_rng(secrets.randbits(64))
    order = rng.permutation(total)
    sizes = looks(total, first) if predicates else [total]
    alpha = error_rate / max(1, len(sizes) - 1)
    correct, seen = 0, 0
    for size in sizes:
        right = np.asarray(correct_of(order[seen:size]), dtype=bool)
        if right.shape != (size - seen,):
            raise ValueError(f"correct_of answered {right.shape} for {size - seen} items")
        correct, seen = correct + int(right.sum()), size
        low, high = interval(correct, seen, total, alpha)
        accuracies = np.arange(low, high + 1) / total
        if all(_settled(predicate(accuracies)) for predicate in predicates):
            break
    return Accuracy(correct, seen, total, low, high, where, error_rate)


def _settled(answers: np.ndarray) -> bool:
    answers = np.asarray(answers, dtype=bool)
    return bool(answers.all() or not answers.any())


def at_least(threshold: float) -> Predicate:
    """The question "is the accuracy at least ``threshold``?", as the whole set's figure answers it."""

    def predicate(accuracy: np.ndarray) -> np.ndarray:
        return np.asarray(accuracy) >= threshold

    predicate.__qualname__ = f"at_least({threshold})"
    return predicate


def at_most(threshold: float) -> Predicate:
    """The question "is the accuracy at most ``threshold``?"."""

    def predicate(accuracy: np.ndarray) -> np.ndarray:
        return np.asarray(accuracy) <= threshold

    predicate.__qualname__ = f"at_most({threshold})"
    return predicate


# --------------------------------------------------------------------------- fresh draws

ACCEPT_RATE = 1e-3  # the most a model a stated margin below a threshold may pass, where a check states it


class StatedCheck(Protocol):
    """A threshold decided on a sample, with its error rates stated: what the kit's tests tabulate."""

    name: str  # what is checked, in words
    threshold: float
    sample: str  # the sample it is decided on, in words (with its size)
    margin: float  # how far on the wrong side of the threshold a false accept is stated
    # (a check of a figure that must stay at most its threshold also has ``at_most = True``)
    reference: float  # the reference solution's figure (and where it comes from, in ``name`` or ``sample``)

    def reject_probability(self, truth: float) -> float:
        """The probability that the check fails when the true figure is ``truth``."""
        ...


@dataclass(frozen=True)
class Drawn:
    """What a classifier did on items drawn afresh: ``correct`` of the ``seen`` ones, and whether
    that settles its accuracy on their distribution at ``threshold`` or above."""

    correct: int
    seen: int
    threshold: float
    passed: bool
    where: str  # the items, in words ("fresh digits (training digits with noise of 0.05, seed 7)")

    @property
    def value(self) -> float:
        return self.correct / self.seen if self.seen else 0.0

    def described(self) -> str:
        return _(
            "{correct:,} of {seen:,} {where} ({value:.2%})",
            correct=self.correct,
            seen=self.seen,
            where=self.where,
            value=self.value,
        )


@dataclass(frozen=True)
class DrawnAccuracy:
    """Is a classifier's accuracy ``p`` on a distribution at least ``threshold``? Decided on items
    drawn from it afresh (independently, each right with probability ``p``), at the cumulative
    counts ``looks``: the check fails only on strong evidence that ``p`` is below.

    At each look, ``k`` right of ``n`` fails when ``P(Binomial(n, threshold) <= k)`` is at most
    ``error_rate / len(looks)`` (Bonferroni: a model exactly at the threshold fails with probability
    at most ``error_rate``); before the last look, it passes when ``P(Binomial(n, threshold - margin)
    >= k)`` is at most ``accept_rate / len(looks)``; otherwise it draws more. The last look passes
    whatever did not fail. :meth:`reject_probability` is exact (dynamic programming over the looks).
    """

    name: str
    threshold: float
    looks: tuple[int, ...]
    margin: float
    reference: float
    sample: str = ""
    error_rate: float = ERROR_RATE
    accept_rate: float = ACCEPT_RATE

    def __post_init__(self):
        if not self.looks or any(b <= a for a, b in zip((0, *self.looks), self.looks)):
            raise ValueError(f"looks must be increasing counts, not {self.looks}")
        if not self.sample:
            count = self.looks[-1]
            looks = ", ".join(f"{n:,}" for n in self.looks)
            several = f"{self.looks[0]:,} to {count:,} fresh items, looks at {looks}"
            described = f"{count:,} fresh items" if len(self.looks) == 1 else several
            object.__setattr__(self, "sample", described)

    def at(self, threshold: float, name: str) -> "DrawnAccuracy":
        """The same sampling plan at another threshold."""
        return replace(self, threshold=threshold, name=name)

    def floor(self, seen: int) -> int:
        """The fewest right of ``seen`` that do not fail: the largest ``c`` with
        ``P(Binomial(seen, threshold) < c) <= error_rate / len(looks)``."""
        alpha = self.error_rate / len(self.looks)
        count = int(binom.ppf(alpha, seen, self.threshold))
        while count >= 0 and binom.cdf(count, seen, self.threshold) > alpha:
            count -= 1
        while count < seen and binom.cdf(count + 1, seen, self.threshold) <= alpha:
            count += 1
        return count + 1

    def ceiling(self, seen: int) -> int:
        """The fewest right of ``seen`` that pass at a look before the last: the smallest ``a`` with
        ``P(Binomial(seen, threshold - margin) >= a) <= accept_rate / len(looks)``."""
        beta = self.accept_rate / len(self.looks)
        below = max(0.0, self.threshold - self.margin)
        count = int(binom.isf(beta, seen, below))
        while count > 0 and binom.sf(count - 2, seen, below) <= beta:
            count -= 1
        while count <= seen and binom.sf(count - 1, seen, below) > beta:
            count += 1
        return count

    @cached_property
    def bounds(self) -> dict[int, tuple[int, int]]:
        """Each look's (floor, ceiling): fewer right than the floor fail, as many as the ceiling pass
        (at the last look, every count from the floor up)."""
        last = self.looks[-1]
        return {n: (self.floor(n), self.floor(n) if n == last else self.ceiling(n)) for n in self.looks}

    def verdict(self, correct: int, seen: int) -> bool | None:
        """True (passes), False (fails) or None (draw more) after ``correct`` right of ``seen``."""
        if seen not in self.bounds:
            raise ValueError(f"{seen} is not one of the looks {self.looks}")
        floor, ceiling = self.bounds[seen]
        if correct < floor:
            return False
        return True if correct >= ceiling else None

    def decide(self, correct_of: Callable[[np.ndarray], np.ndarray], where: str) -> Drawn:
        """Ask ``correct_of(indices)`` whether each of the items drawn (numbered in the order drawn)
        is classified right, look by look, until the question is settled."""
        correct, seen = 0, 0
        for size in self.looks:
            right = np.asarray(correct_of(np.arange(seen, size)), dtype=bool)
            if right.shape != (size - seen,):
                raise ValueError(f"correct_of answered {right.shape} for {size - seen} items")
            correct, seen = correct + int(right.sum()), size
            passed = self.verdict(correct, seen)
            if passed is not None:
                return Drawn(correct, seen, self.threshold, passed, where)
        raise AssertionError("the last look always settles")  # pragma: no cover

    def reject_probability(self, truth: float) -> float:
        """The exact probability that the check fails when each item is right with probability ``truth``."""
        undecided, rejected, seen = np.ones(1), 0.0, 0  # P(k right so far, not yet settled), k = 0..seen
        for size in self.looks:
            undecided = np.convolve(undecided, binom.pmf(np.arange(size - seen + 1), size - seen, truth))
            seen, (floor, ceiling) = size, self.bounds[size]
            rejected += float(undecided[:floor].sum())
            undecided[:floor] = 0.0
            undecided[ceiling:] = 0.0
        return min(1.0, rejected)

    def expected_seen(self, truth: float) -> float:
        """How many items a model of accuracy ``truth`` is asked on average."""
        undecided, seen, expected = np.ones(1), 0, 0.0
        for size in self.looks:
            expected += float(undecided.sum()) * (size - seen)
            undecided = np.convolve(undecided, binom.pmf(np.arange(size - seen + 1), size - seen, truth))
            seen, (floor, ceiling) = size, self.bounds[size]
            undecided[:floor] = 0.0
            undecided[ceiling:] = 0.0
        return expected


@dataclass(frozen=True)
class ShareWithin:
    """Does a share of ``count`` independent draws, each a success with probability ``truth``, fall
    in ``[low, high]``? The check of a random mechanism's rate (``threshold``: the rate it should
    have), which fails a correct mechanism with the binomial tails' probability."""

    name: str
    threshold: float
    count: int
    low: float
    high: float
    margin: float
    reference: float
    sample: str = ""

    def within(self, share: float) -> bool:
        return self.low <= share <= self.high

    def reject_probability(self, truth: float) -> float:
        """The exact probability that the share falls outside ``[low, high]``."""
        counts = np.arange(self.count + 1)
        inside = counts[(counts / self.count >= self.low) & (counts / self.count <= self.high)]
        if not len(inside):
            return 1.0
        return float(binom.cdf(inside[0] - 1, self.count, truth) + binom.sf(inside[-1], self.count, truth))
