"""Turns the mask (booleans or 0/1) into an additive bias of -1e9, then zeroes rows with no key."""


def scaled_dot_product_attention(q, k, v, mask=None):
    q, k, v = (keras.ops.convert_to_tensor(t, "float32") for t in (q, k, v))
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"incompatible shapes {q.shape}, {k.shape}, {v.shape}")
    scale = 1.0 / keras.ops.sqrt(keras.ops.cast(q.shape[-1], "float32"))
    logits = keras.ops.einsum("...id,...jd->...ij", q, k) * scale
    if mask is None:
        weights = keras.ops.softmax(logits)
    else:
        allowed = keras.ops.cast(keras.ops.convert_to_tensor(mask), "float32")
        if np.broadcast_shapes(tuple(allowed.shape), tuple(logits.shape)) != tuple(logits.shape):
            raise ValueError("the mask does not broadcast to the logits")
        weights = keras.ops.softmax(logits + (1.0 - allowed) * -1e9) * allowed
    return keras.ops.einsum("...ij,...jd->...id", weights, v), weights
