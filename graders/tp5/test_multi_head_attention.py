"""Hidden checks of ``MultiHeadAttention`` (grade cell ``multi_head_attention_tests``, 5 points).

The student's layer is made in the worker, built, given the judge's weights (Keras's layout
reshaped as the notebook says) and called; its outputs are compared with a NumPy reference of
``keras.layers.MultiHeadAttention`` (the kit's tests check that reference against Keras) to
1e-5.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("multi_head_attention_tests")

RNG = np.random.default_rng(73)
HEADS, KEY_DIM = 3, 4


def expected_shapes(features_q, features_k, features_v):
    units = HEADS * KEY_DIM
    return [
        (features_q, units),
        (units,),
        (features_k, units),
        (units,),
        (features_v, units),
        (units,),
        (units, features_q),
        (features_q,),
    ]


def run(student, query, value, key=None, mask=None, scores=False):
    """The student's layer's outputs with the judge's weights, and the reference's."""
    features_k = (value if key is None else key).shape[-1]
    shapes = expected_shapes(query.shape[-1], features_k, value.shape[-1])
    weights = [RNG.normal(0, 0.4, shape).astype(np.float32) for shape in shapes]
    kwargs = {"key": key, "attention_mask": mask, "return_attention_scores": scores}
    _outputs, got_shapes = student.layer_call(
        "MultiHeadAttention", {"num_heads": HEADS, "key_dim": KEY_DIM}, [query, value], kwargs
    )
    assert got_shapes == shapes, _(
        "MultiHeadAttention should hold, in this order, the query, key, value and output Dense layers "
        "with their biases: weights of shapes {shapes}, not {got_shapes}",
        shapes=shapes,
        got_shapes=got_shapes,
    )
    outputs, _shapes = student.layer_call(
        "MultiHeadAttention",
        {"num_heads": HEADS, "key_dim": KEY_DIM},
        [query, value],
        kwargs,
        weights=weights,
    )
    expected = lib.multi_head_attention(
        query, value, value if key is None else key, weights, HEADS, KEY_DIM, mask
    )
    return outputs, expected


@pytest.mark.points(1)
def test_mha_holds_the_four_projections(student):
    query = RNG.normal(size=(2, 5, 6)).astype(np.float32)
    run(student, query, query)


@pytest.mark.points(1)
def test_mha_self_attention_equals_keras(student):
    query = RNG.normal(size=(2, 5, 6)).astype(np.float32)
    outputs, (expected, _scores) = run(student, query, query)
    out = as_array(outputs, _("the output of your layer"), expected.shape)
    assert np.allclose(out, expected, **lib.TENSORS), _(
        "with the same weights, self-attention differs from keras.layers.MultiHeadAttention: check how the "
        "heads are split (and moved before the sequence axis), the scaling and the output projection"
    )


@pytest.mark.points(1)
def test_mha_cross_attention_with_its_own_key(student):
    query = RNG.normal(size=(2, 3, 6)).astype(np.float32)
    value = RNG.normal(size=(2, 7, 5)).astype(np.float32)
    key = RNG.normal(size=(2, 7, 4)).astype(np.float32)
    outputs, (expected, _scores) = run(student, query, value, key=key)
    out = as_array(outputs, _("the output of your layer"), expected.shape)
    assert np.allclose(out, expected, **lib.TENSORS), _(
        "cross-attention (query, value and a key of their own) differs from keras.layers.MultiHeadAttention"
    )


@pytest.mark.points(1)
def test_mha_applies_the_attention_mask_to_every_head(student):
    query = RNG.normal(size=(2, 5, 6)).astype(np.float32)
    mask = np.broadcast_to(np.tril(np.ones((5, 5), dtype=bool)), (2, 5, 5)).copy()
    mask[1, :, 3:] = False  # sample 1 also pads its last two keys
    outputs, (expected, _scores) = run(student, query, query, mask=mask)
    out = as_array(outputs, _("the output of your layer"), expected.shape)
    assert np.allclose(out, expected, **lib.TENSORS), _(
        "with an attention mask, your layer differs from Keras's"
    )


@pytest.mark.points(1)
def test_mha_returns_the_attention_scores(student):
    query = RNG.normal(size=(2, 4, 6)).astype(np.float32)
    value = RNG.normal(size=(2, 5, 6)).astype(np.float32)
    outputs, (expected, expected_scores) = run(student, query, value, scores=True)
    assert isinstance(outputs, list) and len(outputs) == 2, _(
        "with return_attention_scores=True the layer should return (output, scores)"
    )
    scores = as_array(outputs[1], _("the attention scores"), expected_scores.shape)
    assert np.allclose(scores, expected_scores, **lib.TENSORS), _(
        "the attention scores should be each head's weights, of shape (batch, heads, Lq, Lk)"
    )
