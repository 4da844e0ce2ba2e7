"""Are the TP5 graders' references Keras's own computations? (The judge needs no TensorFlow: its
references are NumPy; here each runs beside Keras.)"""

import numpy as np
import pytest

from tpdl import grading

lib = grading.grader_library()


def dense_layout(keras_layer):
    """Keras's per-head kernels reshaped to the notebook's Dense layout, in the same order."""
    weights = []
    for index, weight in enumerate(keras_layer.get_weights()):  # query, key, value, output; kernel, bias
        if index == 6:  # the output kernel (heads, key_dim, features)
            weights.append(weight.reshape(-1, weight.shape[-1]))
        elif weight.ndim == 3:
            weights.append(weight.reshape(weight.shape[0], -1))
        else:
            weights.append(weight.reshape(-1))
    return weights


@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("cross", [False, True])
def test_the_mha_reference_is_keras_multi_head_attention(with_mask, cross):
    import keras

    rng = np.random.default_rng(5)
    query = rng.normal(size=(2, 4, 6)).astype("float32")
    value = rng.normal(size=(2, 5, 6 if not cross else 5)).astype("float32") if cross else query
    key = rng.normal(size=(2, 5, 3)).astype("float32") if cross else None
    mask = None
    if with_mask:
        mask = rng.uniform(size=(2, 4, value.shape[1])) < 0.6
        mask[..., 0] = True  # every query may attend to some key (Keras spreads a fully masked row evenly)
    layer = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4)
    theirs, their_scores = layer(query, value, key=key, attention_mask=mask, return_attention_scores=True)
    ours, our_scores = lib.multi_head_attention(
        query, value, value if key is None else key, dense_layout(layer), 3, 4, mask
    )
    assert np.allclose(ours, np.asarray(theirs), atol=1e-5)
    assert np.allclose(our_scores, np.asarray(their_scores), atol=1e-6)


def test_the_attention_reference_agrees_with_the_mha_one_and_handles_empty_rows():
    rng = np.random.default_rng(6)
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 2))
    mask = np.ones((2, 3, 5), dtype=bool)
    mask[1, 2] = False
    out, weights = lib.attention(q, k, v, mask)
    assert np.all(weights[1, 2] == 0) and np.all(out[1, 2] == 0)
    assert np.allclose(weights[0].sum(axis=-1), 1.0)
    logits = np.einsum("bqd,bkd->bqk", q, k) / 2.0
    expected = np.exp(logits[0]) / np.exp(logits[0]).sum(axis=-1, keepdims=True)
    assert np.allclose(weights[0], expected)
