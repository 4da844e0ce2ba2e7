"""Marks the padding positions instead of the real keys, and accepts impossible lengths.

loses: padding_mask, padding_mask_refuses_impossible_lengths
"""


def causal_mask(length):
    return np.tril(np.ones((length, length), dtype=bool))


def padding_mask(lengths, max_length):
    lengths = np.asarray(lengths)
    return (np.arange(max_length)[None, :] >= lengths[:, None])[:, None, :]
