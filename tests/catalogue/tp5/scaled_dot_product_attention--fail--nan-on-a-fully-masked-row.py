"""Fills masked logits with -inf: a query with no allowed key divides 0 by 0 (NaN).

loses: a_query_with_no_allowed_key_gets_zeros
"""


def scaled_dot_product_attention(q, k, v, mask=None):
    q, k, v = (keras.ops.convert_to_tensor(t, "float32") for t in (q, k, v))
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError("incompatible shapes")
    logits = keras.ops.matmul(q, keras.ops.swapaxes(k, -1, -2)) / np.sqrt(q.shape[-1])
    if mask is not None:
        mask = keras.ops.cast(keras.ops.convert_to_tensor(mask), "bool")
        if np.broadcast_shapes(tuple(mask.shape), tuple(logits.shape)) != tuple(logits.shape):
            raise ValueError("the mask does not broadcast")
        logits = keras.ops.where(mask, logits, -np.inf)
    weights = keras.ops.softmax(logits, axis=-1)
    return keras.ops.matmul(weights, v), weights
