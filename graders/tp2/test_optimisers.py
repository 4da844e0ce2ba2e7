"""Hidden checks of ``sgd_step``, ``rmsprop_step`` and ``adam_step`` (grade cells ``*_step_tests``).

Each optimiser runs 10 steps through the student's function, its state going back and forth
through the judge, on parameters of several shapes; the displacement of the parameters must
match Keras's update rules (written out below in float64, and checked against Keras itself by
the kit's tests) to a relative tolerance of 1e-6 of the largest displacement.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array, as_pair

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)

STEPS = 10
LARGE = 100.0  # a gradient scale at which the default epsilon does not matter
SHAPES = [(5, 3), (3,), (2, 3, 4), (1,)]
KERAS_NAMES = {"sgd_step": "SGD", "rmsprop_step": "RMSprop", "adam_step": "Adam"}


def problem(seed: int, grad_scale: float = 1.0):
    """Initial parameters and ``STEPS`` lists of gradients, all float64.

    With ``grad_scale`` ``LARGE`` every gradient is at least ``LARGE / 2`` in size: sqrt(v) is then
    over 1.5 from the first step, and the default epsilon (1e-7) moves no step by a measurable amount.
    """
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=shape) for shape in SHAPES]
    floor = 0.5 if grad_scale >= LARGE else 0.0
    grads = [
        [grad_scale * (n + floor * np.sign(n)) for n in (rng.normal(size=shape) for shape in SHAPES)]
        for __ in range(STEPS)
    ]
    return params, grads


# --------------------------------------------------------------------------- Keras's rules


def reference_sgd(params, grads_per_step, lr, momentum=0.0, nesterov=False):
    params = [p.copy() for p in params]
    velocity = [np.zeros_like(p) for p in params]
    for grads in grads_per_step:
        for i, g in enumerate(grads):
            if momentum == 0.0:
                params[i] = params[i] - lr * g
                continue
            velocity[i] = momentum * velocity[i] - lr * g
            params[i] = params[i] + (momentum * velocity[i] - lr * g if nesterov else velocity[i])
    return params


def reference_rmsprop(params, grads_per_step, lr, rho=0.9, epsilon=1e-7):
    params = [p.copy() for p in params]
    mean_square = [np.zeros_like(p) for p in params]
    for grads in grads_per_step:
        for i, g in enumerate(grads):
            mean_square[i] = rho * mean_square[i] + (1.0 - rho) * g * g
            params[i] = params[i] - lr * g / np.sqrt(mean_square[i] + epsilon)
    return params


def reference_adam(params, grads_per_step, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, grads in enumerate(grads_per_step, start=1):
        alpha = lr * np.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
        for i, g in enumerate(grads):
            m[i] = m[i] + (g - m[i]) * (1.0 - beta_1)
            v[i] = v[i] + (g * g - v[i]) * (1.0 - beta_2)
            params[i] = params[i] - alpha * m[i] / (np.sqrt(v[i]) + epsilon)
    return params


# --------------------------------------------------------------------------- driving the student's steps


def student_steps(student, function, params, grads_per_step, **hyper):
    """The parameters after the student's ``function`` took every step (state round-tripping)."""
    state = {}
    for step, grads in enumerate(grads_per_step, start=1):
        answer = as_pair(student.call(function, params, grads, state, **hyper), function)
        new_params, state = answer
        assert isinstance(new_params, list) and len(new_params) == len(params), _(
            "{function} should return a list of {count} parameter arrays first",
            function=function,
            count=len(params),
        )
        assert isinstance(state, dict), _(
            "{function} should return its state as a dict second", function=function
        )
        params = [
            as_array(
                p, _("parameter {index} returned by {function}", index=i, function=function), tuple(old.shape)
            )
            for i, (p, old) in enumerate(zip(new_params, params))
        ]
        assert all(np.all(np.isfinite(p)) for p in params), _(
            "{function} returned non-finite values at step {step}", function=function, step=step
        )
    return params


def assert_same_steps(student, function, reference, seed, grad_scale=1.0, **hyper):
    start, grads = problem(seed, grad_scale)
    got = student_steps(student, function, start, grads, **hyper)
    want = reference(start, grads, **hyper)
    moved = [w - s for w, s in zip(want, start)]
    scale = max(float(np.max(np.abs(d))) for d in moved)
    settings = ", ".join(f"{k}={v}" for k, v in hyper.items())
    for i, (g, w, s) in enumerate(zip(got, want, start)):
        if not np.allclose(g - s, w - s, rtol=lib.FLOAT64["rtol"], atol=lib.FLOAT64["rtol"] * scale):
            raise AssertionError(
                _(
                    "after {steps} steps with {settings}, parameter {index} (shape {shape}) is not where "
                    "keras.optimizers.{optimizer} puts it",
                    steps=STEPS,
                    settings=settings,
                    index=i,
                    shape=s.shape,
                    optimizer=KERAS_NAMES[function],
                )
            )


def same(a, b) -> bool:
    """Are two plain values (arrays, lists, dicts, numbers) the same?"""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and np.array_equal(a, b)
        )
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def assert_contract(student, function, **hyper):
    """Inputs left alone, the same answer for the same arguments, ValueError for mismatched inputs."""
    params, grads = problem(7)
    first = as_pair(student.call(function, params, grads[0], {}, **hyper), function)
    second_input_state = first[1]
    answer, args, __ = student.call_and_inputs(function, first[0], grads[1], second_input_state, **hyper)
    names = ("params", "grads", "state")
    for name, sent, after in zip(names, (first[0], grads[1], second_input_state), args):
        assert same(sent, after), _(
            "{function} changed the {name} it was given: build new arrays and a new dict instead",
            function=function,
            name=name,
        )
    replay = as_pair(student.call(function, first[0], grads[1], second_input_state, **hyper), function)
    again = as_pair(student.call(function, params, grads[0], {}, **hyper), function)
    assert same(again[0], first[0]) and same(replay[0], as_pair(answer, function)[0]), _(
        "{function} gave two different answers to the same arguments: its result must depend only on "
        "them (keep everything it must remember in the state it returns)",
        function=function,
    )
    mismatched = {
        _("fewer gradients than parameters"): (params, grads[0][:-1]),
        _("a gradient of the wrong shape"): (params, [grads[0][0].T, *grads[0][1:]]),
    }
    for what, (p, g) in mismatched.items():
        lib.assert_refuses(
            student,
            function,
            p,
            g,
            {},
            what=_("{function} given {what}", function=function, what=what),
            **hyper,
        )


# --------------------------------------------------------------------------- SGD


@pytest.mark.cell("sgd_step_tests")
@pytest.mark.points(1)
def test_sgd_plain(student):
    assert_same_steps(student, "sgd_step", reference_sgd, seed=1, lr=0.05)


@pytest.mark.cell("sgd_step_tests")
@pytest.mark.points(1)
def test_sgd_momentum(student):
    assert_same_steps(student, "sgd_step", reference_sgd, seed=2, lr=0.05, momentum=0.9)
    assert_same_steps(student, "sgd_step", reference_sgd, seed=3, lr=0.2, momentum=0.5)


@pytest.mark.cell("sgd_step_tests")
@pytest.mark.points(1)
def test_sgd_nesterov(student):
    assert_same_steps(student, "sgd_step", reference_sgd, seed=4, lr=0.05, momentum=0.9, nesterov=True)


@pytest.mark.cell("sgd_step_tests")
@pytest.mark.points(1)
def test_sgd_contract(student):
    assert_contract(student, "sgd_step", lr=0.1, momentum=0.9)


# --------------------------------------------------------------------------- RMSprop


@pytest.mark.cell("rmsprop_step_tests")
@pytest.mark.points(1)
def test_rmsprop_defaults(student):
    # Large gradients, as for Adam: where epsilon sits costs test_rmsprop_rho_and_epsilon alone.
    assert_same_steps(student, "rmsprop_step", reference_rmsprop, seed=5, grad_scale=LARGE, lr=0.01)


@pytest.mark.cell("rmsprop_step_tests")
@pytest.mark.points(1)
def test_rmsprop_rho_and_epsilon(student):
    # Small gradients and a large epsilon: where epsilon sits changes the step.
    assert_same_steps(
        student, "rmsprop_step", reference_rmsprop, seed=6, grad_scale=0.05, lr=0.02, rho=0.7, epsilon=1e-2
    )


@pytest.mark.cell("rmsprop_step_tests")
@pytest.mark.points(1)
def test_rmsprop_contract(student):
    assert_contract(student, "rmsprop_step", lr=0.01)


# --------------------------------------------------------------------------- Adam


@pytest.mark.cell("adam_step_tests")
@pytest.mark.points(1)
def test_adam_defaults(student):
    # Large gradients: epsilon (1e-7) is negligible beside sqrt(v), so a mistake in where it sits
    # costs test_adam_epsilon alone.
    assert_same_steps(student, "adam_step", reference_adam, seed=8, grad_scale=LARGE, lr=0.01)


@pytest.mark.cell("adam_step_tests")
@pytest.mark.points(1)
def test_adam_betas(student):
    assert_same_steps(
        student, "adam_step", reference_adam, seed=9, grad_scale=LARGE, lr=0.05, beta_1=0.5, beta_2=0.9
    )


@pytest.mark.cell("adam_step_tests")
@pytest.mark.points(1)
def test_adam_epsilon(student):
    # Small gradients and a large epsilon: where epsilon sits changes the step.
    assert_same_steps(
        student,
        "adam_step",
        reference_adam,
        seed=10,
        grad_scale=0.05,
        lr=0.02,
        beta_1=0.8,
        beta_2=0.95,
        epsilon=1e-2,
    )


@pytest.mark.cell("adam_step_tests")
@pytest.mark.points(1)
def test_adam_contract(student):
    assert_contract(student, "adam_step", lr=0.01)
