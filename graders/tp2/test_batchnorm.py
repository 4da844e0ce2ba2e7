"""Hidden checks of ``batchnorm_forward`` and ``batchnorm_backward`` (grade cells ``batchnorm_*_tests``).

The references follow ``keras.layers.BatchNormalization`` (biased batch variance, moving
statistics ``momentum * moving + (1 - momentum) * batch``) in float64; the kit's tests check them
against Keras and against TensorFlow's automatic gradients.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)
BACKWARD_RTOL = 1e-5  # a gradient of several float64 reductions, summed in another order

RNG = np.random.default_rng(51)
X = RNG.normal(size=(32, 6)) * RNG.uniform(0.5, 3.0, size=6) + RNG.normal(0.0, 4.0, size=6)
X3 = RNG.normal(1.0, 2.0, size=(4, 5, 3))
D = 6
GAMMA, BETA = RNG.uniform(0.5, 2.0, size=D), RNG.normal(size=D)
MOVING_MEAN, MOVING_VAR = RNG.normal(size=D), RNG.uniform(0.5, 2.0, size=D)


def reference_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    if training:
        mean = x.mean(axis=axes)
        var = ((x - mean) ** 2).mean(axis=axes)
        new_mean = moving_mean * momentum + mean * (1.0 - momentum)
        new_var = moving_var * momentum + var * (1.0 - momentum)
    else:
        mean, var, new_mean, new_var = moving_mean, moving_var, moving_mean, moving_var
    return (x - mean) / np.sqrt(var + epsilon) * gamma + beta, new_mean, new_var


def reference_backward(dy, x, gamma, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    n = x.size // x.shape[-1]
    mean = x.mean(axis=axes)
    inv_std = 1.0 / np.sqrt(((x - mean) ** 2).mean(axis=axes) + epsilon)
    x_hat = (x - mean) * inv_std
    dx_hat = dy * gamma
    dx = (dx_hat - dx_hat.sum(axis=axes) / n - x_hat * (dx_hat * x_hat).sum(axis=axes) / n) * inv_std
    return dx, (dy * x_hat).sum(axis=axes), dy.sum(axis=axes)


def forward(
    student, x, training, gamma=GAMMA, beta=BETA, moving_mean=MOVING_MEAN, moving_var=MOVING_VAR, **hyper
):
    answer = student.call(
        "batchnorm_forward",
        x,
        gamma,
        beta,
        moving_mean[: x.shape[-1]],
        moving_var[: x.shape[-1]],
        training,
        **hyper,
    )
    assert isinstance(answer, (tuple, list)) and len(answer) == 3, _(
        "batchnorm_forward should return three values: (y, new_moving_mean, new_moving_var)"
    )
    y, mean, var = answer
    d = x.shape[-1]
    return (
        as_array(y, "y", x.shape),
        as_array(mean, "new_moving_mean", (d,)),
        as_array(var, "new_moving_var", (d,)),
    )


def close(a, b, rtol=lib.FLOAT64["rtol"]) -> bool:
    """Equal to ``rtol`` of the larger of 1 and ``b``'s largest value."""
    return np.allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(b)))))


# --------------------------------------------------------------------------- forward


@pytest.mark.cell("batchnorm_forward_tests")
@pytest.mark.points(1)
def test_batchnorm_training_output(student):
    for hyper in ({}, {"epsilon": 0.5}):
        epsilon = hyper.get("epsilon")
        y, __, __ = forward(student, X, True, **hyper)
        want, __, __ = reference_forward(X, GAMMA, BETA, MOVING_MEAN, MOVING_VAR, True, **hyper)
        assert close(y, want), (
            _(
                "in training mode, y is not x normalised by the batch's mean and variance over every axis "
                "but the last, then scaled by gamma and shifted by beta (epsilon={epsilon})",
                epsilon=epsilon,
            )
            if hyper
            else _(
                "in training mode, y is not x normalised by the batch's mean and variance over every axis "
                "but the last, then scaled by gamma and shifted by beta"
            )
        )


@pytest.mark.cell("batchnorm_forward_tests")
@pytest.mark.points(1)
def test_batchnorm_moving_statistics(student):
    # a fresh layer's statistics (0 and 1) too: a warm start from the first batch differs there only
    fresh = {"moving_mean": np.zeros(D), "moving_var": np.ones(D)}
    for hyper in ({}, {"momentum": 0.9}, {"momentum": 0.5}, fresh):
        __, mean, var = forward(student, X, True, **hyper)
        moving = {"moving_mean": MOVING_MEAN, "moving_var": MOVING_VAR, **hyper}
        momentum = {k: v for k, v in hyper.items() if k == "momentum"}
        __, want_mean, want_var = reference_forward(
            X, GAMMA, BETA, moving["moving_mean"], moving["moving_var"], True, **momentum
        )
        if "momentum" in hyper:
            rate = hyper["momentum"]
            wrong_mean = _(
                "the new moving mean is not updated as Keras does it with momentum={rate}", rate=rate
            )
            wrong_var = _(
                "the new moving variance is not updated as Keras does it with momentum={rate}", rate=rate
            )
        elif hyper:
            wrong_mean = _(
                "the new moving mean is not updated as Keras does it from a fresh layer's moving "
                "mean 0 and variance 1"
            )
            wrong_var = _(
                "the new moving variance is not updated as Keras does it from a fresh layer's moving "
                "mean 0 and variance 1"
            )
        else:
            wrong_mean = _("the new moving mean is not updated as Keras does it")
            wrong_var = _("the new moving variance is not updated as Keras does it")
        assert close(mean, want_mean), wrong_mean
        assert close(var, want_var), wrong_var


@pytest.mark.cell("batchnorm_forward_tests")
@pytest.mark.points(1)
def test_batchnorm_inference(student):
    y, mean, var = forward(student, X, False)
    want, __, __ = reference_forward(X, GAMMA, BETA, MOVING_MEAN, MOVING_VAR, False)
    assert close(y, want), _("at inference, y should be normalised with the moving mean and variance")
    assert np.array_equal(mean, MOVING_MEAN) and np.array_equal(var, MOVING_VAR), _(
        "at inference, the moving statistics should come back unchanged"
    )


@pytest.mark.cell("batchnorm_forward_tests")
@pytest.mark.points(1)
def test_batchnorm_any_rank_and_inputs_kept(student):
    # Graded against the student's own answer for the same rows as a (20, 3) batch: a mistake in the
    # formulas costs the checks above, not this one too.
    gamma, beta = GAMMA[:3], BETA[:3]
    y, mean, var = forward(student, X3, True, gamma=gamma, beta=beta, momentum=0.8)
    flat_y, flat_mean, flat_var = forward(
        student, X3.reshape(-1, 3), True, gamma=gamma, beta=beta, momentum=0.8
    )
    assert close(y, flat_y.reshape(X3.shape)) and close(mean, flat_mean) and close(var, flat_var), _(
        "for x of shape (4, 5, 3), the statistics should be taken over every axis but the last, as for the "
        "same rows given as x of shape (20, 3)"
    )
    sent = (X, GAMMA, BETA, MOVING_MEAN, MOVING_VAR)
    __, after, __ = student.call_and_inputs("batchnorm_forward", *sent, True)
    assert all(np.array_equal(a, b) for a, b in zip(sent, after)), _(
        "batchnorm_forward changed the arrays it was given: return new ones instead"
    )


# --------------------------------------------------------------------------- backward

DY = RNG.normal(size=X.shape)
DY3 = RNG.normal(size=X3.shape)


def backward(student, dy, x, gamma, **hyper):
    answer = student.call("batchnorm_backward", dy, x, gamma, **hyper)
    assert isinstance(answer, (tuple, list)) and len(answer) == 3, _(
        "batchnorm_backward should return three values: (dx, dgamma, dbeta)"
    )
    dx, dgamma, dbeta = answer
    d = x.shape[-1]
    return as_array(dx, "dx", x.shape), as_array(dgamma, "dgamma", (d,)), as_array(dbeta, "dbeta", (d,))


@pytest.mark.cell("batchnorm_backward_tests")
@pytest.mark.points(1)
def test_batchnorm_backward_dx(student):
    for hyper in ({}, {"epsilon": 0.5}):
        dx, __, __ = backward(student, DY, X, GAMMA, **hyper)
        assert close(dx, reference_backward(DY, X, GAMMA, **hyper)[0], rtol=BACKWARD_RTOL), _(
            "dx is not the gradient of the loss with respect to x (remember that the batch mean and "
            "variance depend on x too)"
        )


@pytest.mark.cell("batchnorm_backward_tests")
@pytest.mark.points(1)
def test_batchnorm_backward_dgamma_dbeta(student):
    __, dgamma, dbeta = backward(student, DY, X, GAMMA)
    __, want_dgamma, want_dbeta = reference_backward(DY, X, GAMMA)
    assert close(dgamma, want_dgamma, rtol=BACKWARD_RTOL), _(
        "dgamma is not the gradient of the loss with respect to gamma"
    )
    assert close(dbeta, want_dbeta, rtol=BACKWARD_RTOL), _(
        "dbeta is not the gradient of the loss with respect to beta"
    )


@pytest.mark.cell("batchnorm_backward_tests")
@pytest.mark.points(1)
def test_batchnorm_backward_any_rank(student):
    # against the student's own gradients of the same rows as a (20, 3) batch (see the forward pass)
    dx, dgamma, dbeta = backward(student, DY3, X3, GAMMA[:3])
    flat_dx, flat_dgamma, flat_dbeta = backward(student, DY3.reshape(-1, 3), X3.reshape(-1, 3), GAMMA[:3])
    pairs = ((dx, flat_dx.reshape(X3.shape)), (dgamma, flat_dgamma), (dbeta, flat_dbeta))
    assert all(close(g, w, rtol=BACKWARD_RTOL) for g, w in pairs), _(
        "for x of shape (4, 5, 3), the gradients should treat every axis but the last as the batch, as for "
        "the same rows given as x of shape (20, 3)"
    )
