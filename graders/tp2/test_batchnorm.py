"""Hidden checks of ``batchnorm_forward`` and ``batchnorm_backward`` (grade cells ``batchnorm_*_tests``).

The references follow ``keras.layers.BatchNormalization`` (biased batch variance, moving
statistics ``momentum * moving + (1 - momentum) * batch``) in float64; the kit's tests check them
against Keras and against TensorFlow's automatic gradients.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.grading import as_array

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


def forward(student, x, training, gamma=GAMMA, beta=BETA, **hyper):
    answer = student.call("batchnorm_forward", x, gamma, beta, MOVING_MEAN[: x.shape[-1]],
                          MOVING_VAR[: x.shape[-1]], training, **hyper)  # fmt: skip
    assert isinstance(answer, (tuple, list)) and len(answer) == 3, (
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
        y, _, _ = forward(student, X, True, **hyper)
        want, _, _ = reference_forward(X, GAMMA, BETA, MOVING_MEAN, MOVING_VAR, True, **hyper)
        assert close(y, want), (
            "in training mode, y is not x normalised by the batch's mean and variance over every axis "
            "but the last, then scaled by gamma and shifted by beta"
            + (f" (epsilon={hyper['epsilon']})" if hyper else "")
        )


@pytest.mark.cell("batchnorm_forward_tests")
@pytest.mark.points(1)
def test_batchnorm_moving_statistics(student):
    for hyper in ({}, {"momentum": 0.9}, {"momentum": 0.5}):
        _, mean, var = forward(student, X, True, **hyper)
        _, want_mean, want_var = reference_forward(X, GAMMA, BETA, MOVING_MEAN, MOVING_VAR, True, **hyper)
        setting = f" with momentum={hyper['momentum']}" if hyper else ""
        assert close(mean, want_mean), f"the new moving mean is not updated as Keras does it{setting}"
        assert close(var, want_var), f"the new moving variance is not updated as Keras does it{setting}"


@pytest.mark.cell("batchnorm_forward_tests")
@pytest.mark.points(1)
def test_batchnorm_inference(student):
    y, mean, var = forward(student, X, False)
    want, _, _ = reference_forward(X, GAMMA, BETA, MOVING_MEAN, MOVING_VAR, False)
    assert close(y, want), "at inference, y should be normalised with the moving mean and variance"
    assert np.array_equal(mean, MOVING_MEAN) and np.array_equal(var, MOVING_VAR), (
        "at inference, the moving statistics should come back unchanged"
    )


@pytest.mark.cell("batchnorm_forward_tests")
@pytest.mark.points(1)
def test_batchnorm_any_rank_and_inputs_kept(student):
    gamma, beta = GAMMA[:3], BETA[:3]
    y, mean, var = forward(student, X3, True, gamma=gamma, beta=beta, momentum=0.8)
    want = reference_forward(X3, gamma, beta, MOVING_MEAN[:3], MOVING_VAR[:3], True, momentum=0.8)
    assert close(y, want[0]) and close(mean, want[1]) and close(var, want[2]), (
        "for x of shape (4, 5, 3), the statistics should be taken over every axis but the last"
    )
    sent = (X, GAMMA, BETA, MOVING_MEAN, MOVING_VAR)
    _, after, _ = student.call_and_inputs("batchnorm_forward", *sent, True)
    assert all(np.array_equal(a, b) for a, b in zip(sent, after)), (
        "batchnorm_forward changed the arrays it was given: return new ones instead"
    )


# --------------------------------------------------------------------------- backward

DY = RNG.normal(size=X.shape)
DY3 = RNG.normal(size=X3.shape)


def backward(student, dy, x, gamma, **hyper):
    answer = student.call("batchnorm_backward", dy, x, gamma, **hyper)
    assert isinstance(answer, (tuple, list)) and len(answer) == 3, (
        "batchnorm_backward should return three values: (dx, dgamma, dbeta)"
    )
    dx, dgamma, dbeta = answer
    d = x.shape[-1]
    return as_array(dx, "dx", x.shape), as_array(dgamma, "dgamma", (d,)), as_array(dbeta, "dbeta", (d,))


@pytest.mark.cell("batchnorm_backward_tests")
@pytest.mark.points(1)
def test_batchnorm_backward_dx(student):
    for hyper in ({}, {"epsilon": 0.5}):
        dx, _, _ = backward(student, DY, X, GAMMA, **hyper)
        assert close(dx, reference_backward(DY, X, GAMMA, **hyper)[0], rtol=BACKWARD_RTOL), (
            "dx is not the gradient of the loss with respect to x (remember that the batch mean and "
            "variance depend on x too)"
        )


@pytest.mark.cell("batchnorm_backward_tests")
@pytest.mark.points(1)
def test_batchnorm_backward_dgamma_dbeta(student):
    _, dgamma, dbeta = backward(student, DY, X, GAMMA)
    _, want_dgamma, want_dbeta = reference_backward(DY, X, GAMMA)
    assert close(dgamma, want_dgamma, rtol=BACKWARD_RTOL), (
        "dgamma is not the gradient of the loss with respect to gamma"
    )
    assert close(dbeta, want_dbeta, rtol=BACKWARD_RTOL), (
        "dbeta is not the gradient of the loss with respect to beta"
    )


@pytest.mark.cell("batchnorm_backward_tests")
@pytest.mark.points(1)
def test_batchnorm_backward_any_rank(student):
    got = backward(student, DY3, X3, GAMMA[:3])
    want = reference_backward(DY3, X3, GAMMA[:3])
    assert all(close(g, w, rtol=BACKWARD_RTOL) for g, w in zip(got, want)), (
        "for x of shape (4, 5, 3), the gradients should treat every axis but the last as the batch"
    )
