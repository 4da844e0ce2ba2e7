"""Forgets the 1/sqrt(d) scaling: the softmax saturates as the depth grows.

loses: attention_without_mask, attention_with_causal_and_padding_masks
"""


def scaled_dot_product_attention(q, k, v, mask=None):
    q, k, v = (keras.ops.convert_to_tensor(t, "float32") for t in (q, k, v))
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError("incompatible shapes")
    logits = keras.ops.matmul(q, keras.ops.swapaxes(k, -1, -2))
    if mask is None:
        weights = keras.ops.softmax(logits, axis=-1)
        return keras.ops.matmul(weights, v), weights
    mask = keras.ops.cast(keras.ops.convert_to_tensor(mask), "bool")
    if np.broadcast_shapes(tuple(mask.shape), tuple(logits.shape)) != tuple(logits.shape):
        raise ValueError("the mask does not broadcast")
    weights = keras.ops.where(mask, keras.ops.softmax(keras.ops.where(mask, logits, -1e9), axis=-1), 0.0)
    return keras.ops.matmul(weights, v), weights
