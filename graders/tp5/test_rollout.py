"""Hidden checks of ``build_rollout`` (grade cell ``build_rollout_tests``, 3 points).

The roll-out is built from the kit's probe models (``tpdl.course.videos.probe_model``: an encoder, a step
and a decoder whose weights the judge knows) and compared with the same roll-out done in NumPy.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.course.videos import probe_weights
from tpdl.judge.wire import Probe

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("build_rollout_tests")

SEED, LATENT, WINDOW, SIZE = 87, 4, 3, 32


def _probes(window=WINDOW, step_latent=LATENT):
    return (
        Probe("encoder", seed=SEED, latent_dim=LATENT, window=window),
        Probe("step", seed=SEED, latent_dim=step_latent, window=window),
        Probe("decoder", seed=SEED, latent_dim=LATENT, window=window),
    )


def numpy_rollout(frames: np.ndarray, horizon: int) -> np.ndarray:
    """The probe models' roll-out: encode the context, predict from the last WINDOW latents, decode."""
    w = {k: v.astype(np.float64) for k, v in probe_weights(SEED, LATENT, WINDOW, SIZE).items()}
    n, context = frames.shape[:2]
    history = list(
        np.tanh(frames.reshape(n, context, -1) @ w["encoder_kernel"] + w["encoder_bias"]).swapaxes(0, 1)
    )
    for _step in range(horizon):
        recent = np.stack(history[-WINDOW:], axis=1).reshape(n, -1)
        history.append(np.tanh(recent @ w["step_kernel"] + w["step_bias"]))
    future = np.stack(history[context:], axis=1)
    return (1.0 / (1.0 + np.exp(-(future @ w["decoder_kernel"] + w["decoder_bias"])))).reshape(
        n, horizon, SIZE, SIZE, 1
    )


@pytest.mark.points(2)
def test_rollout_feeds_its_predictions_back(student):
    context, horizon = 5, 4
    model = student.build_model("build_rollout", *_probes(), context=context, horizon=horizon)
    frames = np.random.default_rng(88).uniform(size=(3, context, SIZE, SIZE, 1)).astype(np.float32)
    predicted = np.asarray(model.predict(frames))
    expected = numpy_rollout(frames, horizon)
    assert predicted.shape == expected.shape, _(
        "build_rollout(..., context={context}, horizon={horizon}) should output {expected_shape} "
        "frames per video, not {shape}",
        context=context,
        horizon=horizon,
        expected_shape=expected.shape[1:],
        shape=predicted.shape[1:],
    )
    wrong = [
        h + 1 for h in range(horizon) if not np.allclose(predicted[:, h], expected[:, h], **lib.FLOAT32_CHAIN)
    ]
    assert not wrong, _(
        "with known encoder, step and decoder, the predicted frames at horizons {wrong} are not those of "
        "an autoregressive roll-out (each new latent from the last window of latents, predictions included)",
        wrong=wrong,
    )


@pytest.mark.points(1)
def test_rollout_shapes_and_bad_input(student):
    model = student.build_model("build_rollout", *_probes(), context=6, horizon=2)
    shapes = (tuple(model.description["input_shape"]), tuple(model.description["output_shape"]))
    assert shapes == ((None, 6, SIZE, SIZE, 1), (None, 2, SIZE, SIZE, 1)), _(
        "build_rollout(..., context=6, horizon=2) should map (None, 6, 32, 32, 1) to (None, 2, 32, 32, 1), "
        "not {input_shape} to {output_shape}",
        input_shape=shapes[0],
        output_shape=shapes[1],
    )
    cases = (
        (_("a step whose window (7) is longer than the context (6)"), _probes(window=7), 6),
        (_("a step whose latents (5 values) are not the encoder's (4)"), _probes(step_latent=5), 6),
    )
    for what, probes, context in cases:
        lib.assert_refuses(
            student,
            "build_rollout",
            *probes,
            context=context,
            horizon=2,
            what=_("build_rollout given {what}", what=what),
        )
