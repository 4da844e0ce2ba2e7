"""Builds the upper triangle: each query sees the future, not the past.

loses: causal_mask
"""


def causal_mask(length):
    return np.triu(np.ones((length, length), dtype=bool))


def padding_mask(lengths, max_length):
    lengths = np.asarray(lengths)
    if lengths.min(initial=0) < 0 or lengths.max(initial=0) > max_length:
        raise ValueError("bad lengths")
    return (np.arange(max_length)[None, :] < lengths[:, None])[:, None, :]
