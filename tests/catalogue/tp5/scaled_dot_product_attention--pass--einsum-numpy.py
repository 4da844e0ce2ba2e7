"""NumPy with einsum, a stable softmax written out, and an explicit zero for rows with no key."""


def scaled_dot_product_attention(q, k, v, mask=None):
    q, k, v = (np.asarray(t, dtype="float64") for t in (q, k, v))
    if q.shape[-1] != k.shape[-1]:
        raise ValueError("depths differ")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError("lengths differ")
    logits = np.einsum("...qd,...kd->...qk", q, k) / np.sqrt(q.shape[-1])
    allowed = np.ones(logits.shape, dtype=bool)
    if mask is not None:
        try:
            allowed = np.broadcast_to(np.asarray(mask).astype(bool), logits.shape)
        except ValueError as error:
            raise ValueError(f"bad mask: {error}") from None
    logits = np.where(allowed, logits, -np.inf)
    top = np.max(logits, axis=-1, keepdims=True)
    e = np.where(allowed, np.exp(logits - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    weights = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    return np.einsum("...qk,...kv->...qv", weights, v), weights
