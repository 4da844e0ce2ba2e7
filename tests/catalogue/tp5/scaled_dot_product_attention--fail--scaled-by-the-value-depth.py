"""Scales the logits by the square root of the values' depth instead of the keys': right whenever
the two depths are equal.

loses: attention_without_mask
"""


def scaled_dot_product_attention(q, k, v, mask=None):
    q, k, v = (keras.ops.convert_to_tensor(t, "float32") for t in (q, k, v))
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"queries of depth {q.shape[-1]} cannot match keys of depth {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{k.shape[-2]} keys but {v.shape[-2]} values")
    logits = keras.ops.matmul(q, keras.ops.swapaxes(k, -1, -2)) / np.sqrt(v.shape[-1])
    if mask is None:
        weights = keras.ops.softmax(logits, axis=-1)
        return keras.ops.matmul(weights, v), weights
    mask = keras.ops.cast(keras.ops.convert_to_tensor(mask), "bool")
    weights = keras.ops.softmax(keras.ops.where(mask, logits, -1e9), axis=-1)
    weights = keras.ops.where(mask, weights, 0.0)
    return keras.ops.matmul(weights, v), weights
