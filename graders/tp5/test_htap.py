"""Hidden checks of ``build_htap`` (grade cell ``build_htap_tests``, 4 points).

The judge gives the predictor histories of latents and checks what retrieval attention implies
whatever the weights: the prediction is a mix of latents of the history, and it depends on the
oldest of them.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("build_htap_tests")

ATTENTION = {"Attention", "MultiHeadAttention", "AdditiveAttention", "GroupedQueryAttention"}
HISTORY, LATENT, KEY_DIM = 12, 8, 16
# What the spec's layers hold: per scale, one bias-free projection shared by the query and the keys
# and the attention's learned scale; the gate, a Dense(2) of the two retrieved latents side by side.
WEIGHTS = 2 * (LATENT * KEY_DIM + 1) + (2 * LATENT + 1) * 2


@pytest.fixture(scope="module")
def model(student):
    return student.build_model("build_htap", HISTORY, LATENT, KEY_DIM, 3)


@pytest.mark.points(1)
def test_htap_reads_its_history_of_latents(student, model):
    shapes = (tuple(model.description["input_shape"]), tuple(model.description["output_shape"]))
    assert shapes == ((None, HISTORY, LATENT), (None, LATENT)), _(
        "build_htap({history}, {latent}, {key_dim}, 3) should map (None, {history}, {latent}) to "
        "(None, {latent}), not {input_shape} to {output_shape}",
        history=HISTORY,
        latent=LATENT,
        key_dim=KEY_DIM,
        input_shape=shapes[0],
        output_shape=shapes[1],
    )
    for kwargs in ({"history": 2}, {"span": 1}, {"history": 6, "span": 6}):
        what = f"build_htap({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
        lib.assert_refuses(student, "build_htap", what=what, **kwargs)


@pytest.mark.points(1)
def test_htap_attends_at_two_time_scales(model):
    found = [name for name in model.layer_classes if name in ATTENTION]
    assert len(found) >= 2, _(
        "H-TAP attends over the history at a fine and a coarse time scale: one attention layer per "
        "scale, not {count}",
        count=len(found),
    )
    count = model.description["count_params"]
    assert count == WEIGHTS, (
        _(
            "build_htap({history}, {latent}, {key_dim}, 3) has {count} weights, more than the spec's layers "
            "hold: per scale, one bias-free Dense(key_dim) projects both the query and the keys, and one "
            "Attention(use_scale=True) retrieves; then the Dense(2) gate",
            history=HISTORY,
            latent=LATENT,
            key_dim=KEY_DIM,
            count=count,
        )
        if count > WEIGHTS
        else _(
            "build_htap({history}, {latent}, {key_dim}, 3) has {count} weights, fewer than the spec's layers "
            "hold: per scale, one bias-free Dense(key_dim) projects both the query and the keys, and one "
            "Attention(use_scale=True) retrieves; then the Dense(2) gate",
            history=HISTORY,
            latent=LATENT,
            key_dim=KEY_DIM,
            count=count,
        )
    )


@pytest.mark.points(1)
def test_htap_reads_the_oldest_latents(model):
    rng = np.random.default_rng(85)
    history = rng.normal(size=(16, HISTORY, LATENT)).astype(np.float32)
    changed = history.copy()
    changed[:, :2] = rng.normal(size=(16, 2, LATENT))  # only the two oldest latents differ
    difference = np.abs(np.asarray(model.predict(history)) - np.asarray(model.predict(changed))).max()
    assert difference > 1e-4, _(
        "H-TAP's prediction does not change when the oldest latents of its history change: it ignores "
        "the long history"
    )


@pytest.mark.points(1)
def test_htap_predicts_a_mix_of_past_latents(model):
    rng = np.random.default_rng(86)
    still = np.repeat(rng.normal(size=(8, 1, LATENT)), HISTORY, axis=1).astype(np.float32)
    predicted = np.asarray(model.predict(still))
    assert np.allclose(predicted, still[:, 0], **lib.FLOAT32_CHAIN), _(
        "given a history whose latents are all the same, H-TAP should retrieve that latent: its "
        "prediction should be an attention-weighted mix of latents of the history"
    )
    history = rng.normal(size=(16, HISTORY, LATENT)).astype(np.float32)
    predicted = np.asarray(model.predict(history))
    low, high = history.min(axis=1) - 1e-4, history.max(axis=1) + 1e-4
    assert np.all((predicted >= low) & (predicted <= high)), _(
        "H-TAP's prediction leaves the range of the history's latents: it should be a weighted mix of them"
    )
    # The values are the latents after the keys (z_1 .. z_{n-1}, z_s .. z_{n-1}): never the oldest, z_0.
    # A first component that only z_0 has must stay out of the prediction, whatever the weights.
    oldest_only = rng.normal(size=(16, HISTORY, LATENT)).astype(np.float32)
    oldest_only[:, 1:, 0], oldest_only[:, 0, 0] = 0.0, 5.0
    predicted = np.asarray(model.predict(oldest_only))
    assert np.allclose(predicted[:, 0], 0.0, **lib.FLOAT32_CHAIN), _(
        "H-TAP's prediction mixes in the oldest latent z_0 itself: at each scale the values are the latents "
        "that follow the keys"
    )
