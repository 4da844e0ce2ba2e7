"""Hidden checks of ``l2_penalty`` and ``l2_penalty_grad`` (grade cell ``l2_penalty_tests``, 3 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array, assert_accepts

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("l2_penalty_tests")

RNG = np.random.default_rng(41)
WEIGHTS = [RNG.normal(size=(6, 4)), RNG.normal(size=(4,)), RNG.normal(size=(3, 2, 2))]
L2 = 0.003


def reference_penalty(weights, l2):
    """``keras.regularizers.L2(l2)`` summed over the arrays: l2 * sum(w ** 2), no factor 1/2."""
    return sum(l2 * float(np.sum(w * w)) for w in weights)


def reference_grad(weights, l2):
    return [2.0 * l2 * w for w in weights]


def as_number(value, what):
    assert isinstance(value, (int, float)) or (isinstance(value, np.ndarray) and value.size == 1), _(
        "{what} should be a single number, not {kind}", what=what, kind=type(value).__name__
    )
    return float(np.asarray(value).ravel()[0]) if isinstance(value, np.ndarray) else float(value)


@pytest.mark.points(1)
def test_l2_penalty_matches_keras(student):
    for l2 in (L2, 0.5):
        got = as_number(student.call("l2_penalty", WEIGHTS, l2), _("l2_penalty's result"))
        assert np.isclose(got, reference_penalty(WEIGHTS, l2), **lib.FLOAT64), _(
            "l2_penalty(weights, {l2}) differs from keras.regularizers.L2({l2}) summed over the arrays", l2=l2
        )
    assert as_number(student.call("l2_penalty", WEIGHTS, 0.0), _("l2_penalty's result")) == 0.0, _(
        "with l2 = 0 the penalty should be 0"
    )


@pytest.mark.points(1)
def test_l2_penalty_grad_matches_the_penalty(student):
    grads, (given, __), __ = student.call_and_inputs("l2_penalty_grad", WEIGHTS, L2)
    assert isinstance(given, list) and len(given) == len(WEIGHTS), _(
        "l2_penalty_grad changed the list of weights it was given"
    )
    for i, (after, w) in enumerate(zip(given, WEIGHTS)):
        assert isinstance(after, np.ndarray) and np.array_equal(after, w), _(
            "l2_penalty_grad changed weight array {index} it was given: leave the weights as they were "
            "and return new arrays",
            index=i,
        )
    assert isinstance(grads, list) and len(grads) == len(WEIGHTS), _(
        "l2_penalty_grad should return a list of {count} arrays, one per weight array", count=len(WEIGHTS)
    )
    grads = [
        as_array(g, _("gradient {index}", index=i), w.shape) for i, (g, w) in enumerate(zip(grads, WEIGHTS))
    ]
    for g, want in zip(grads, reference_grad(WEIGHTS, L2)):
        assert np.allclose(g, want, **lib.FLOAT64), _(
            "l2_penalty_grad is not the gradient of Keras's L2 penalty"
        )
    # The student's gradient must also be the slope of the student's own penalty (central differences).
    h = 1e-4
    for array, index in ((0, (2, 1)), (2, (1, 0, 1))):
        nudged = []
        for sign in (1.0, -1.0):
            weights = [w.copy() for w in WEIGHTS]
            weights[array][index] += sign * h
            nudged.append(as_number(student.call("l2_penalty", weights, L2), _("l2_penalty's result")))
        slope = (nudged[0] - nudged[1]) / (2 * h)
        assert np.isclose(grads[array][index], slope, **lib.FINITE_DIFFERENCES), _(
            "l2_penalty_grad does not match the slope of l2_penalty (a finite-difference check)"
        )


@pytest.mark.points(1)
def test_l2_penalty_rejects_a_negative_factor(student):
    for function in ("l2_penalty", "l2_penalty_grad"):
        assert_accepts(student, function, WEIGHTS, 0.01)
        lib.assert_refuses(
            student, function, WEIGHTS, -0.01, what=_("{function} with a negative l2", function=function)
        )
