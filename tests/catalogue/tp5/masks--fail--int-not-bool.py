"""Returns 0/1 floats and ints (np.tril of ones, an int comparison cast), not boolean arrays.

loses: causal_mask, padding_mask
"""
def causal_mask(length):
    """``(length, length)`` booleans: query i may attend to keys 0..i."""
    return np.tril(np.ones((length, length)))


def padding_mask(lengths, max_length):
    """``(batch, 1, max_length)`` booleans: true for each sequence's real keys."""
    lengths = np.asarray(lengths)
    if np.any(lengths < 0) or np.any(lengths > max_length):
        raise ValueError(f"lengths must lie in [0, {max_length}], not {lengths.tolist()}")
    return (np.arange(max_length)[None, None, :] < lengths[:, None, None]).astype(int)
