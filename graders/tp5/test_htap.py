"""Hidden checks of ``build_htap`` (grade cell ``build_htap_tests``, 4 points).

The judge gives the predictor histories of latents and checks what retrieval attention implies
whatever the weights: the prediction is a mix of latents of the history, and it depends on the
oldest of them.
"""

import numpy as np
import pytest

from tpdl import grading

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("build_htap_tests")

ATTENTION = {"Attention", "MultiHeadAttention", "AdditiveAttention", "GroupedQueryAttention"}
HISTORY, LATENT = 12, 8


@pytest.fixture(scope="module")
def model(student):
    return student.build_model("build_htap", HISTORY, LATENT, 16, 3)


@pytest.mark.points(1)
def test_htap_reads_its_history_of_latents(student, model):
    shapes = (tuple(model.description["input_shape"]), tuple(model.description["output_shape"]))
    assert shapes == ((None, HISTORY, LATENT), (None, LATENT)), (
        f"build_htap({HISTORY}, {LATENT}, 16, 3) should map (None, {HISTORY}, {LATENT}) to (None, {LATENT}), "
        f"not {shapes[0]} to {shapes[1]}"
    )
    for kwargs in ({"history": 2}, {"span": 1}, {"history": 6, "span": 6}):
        what = f"build_htap({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
        lib.assert_refuses(student, "build_htap", what=what, **kwargs)


@pytest.mark.points(1)
def test_htap_attends_at_two_time_scales(model):
    found = [name for name in model.layer_classes if name in ATTENTION]
    assert len(found) >= 2, (
        f"H-TAP attends over the history at a fine and a coarse time scale: one attention layer per "
        f"scale, not {len(found)}"
    )


@pytest.mark.points(1)
def test_htap_reads_the_oldest_latents(model):
    rng = np.random.default_rng(85)
    history = rng.normal(size=(16, HISTORY, LATENT)).astype(np.float32)
    changed = history.copy()
    changed[:, :2] = rng.normal(size=(16, 2, LATENT))  # only the two oldest latents differ
    difference = np.abs(np.asarray(model.predict(history)) - np.asarray(model.predict(changed))).max()
    assert difference > 1e-4, (
        "H-TAP's prediction does not change when the oldest latents of its history change: it ignores "
        "the long history"
    )


@pytest.mark.points(1)
def test_htap_predicts_a_mix_of_past_latents(model):
    rng = np.random.default_rng(86)
    still = np.repeat(rng.normal(size=(8, 1, LATENT)), HISTORY, axis=1).astype(np.float32)
    predicted = np.asarray(model.predict(still))
    assert np.allclose(predicted, still[:, 0], **lib.FLOAT32_CHAIN), (
        "given a history whose latents are all the same, H-TAP should retrieve that latent: its "
        "prediction should be an attention-weighted mix of latents of the history"
    )
    history = rng.normal(size=(16, HISTORY, LATENT)).astype(np.float32)
    predicted = np.asarray(model.predict(history))
    low, high = history.min(axis=1) - 1e-4, history.max(axis=1) + 1e-4
    assert np.all((predicted >= low) & (predicted <= high)), (
        "H-TAP's prediction leaves the range of the history's latents: it should be a weighted mix of them"
    )
