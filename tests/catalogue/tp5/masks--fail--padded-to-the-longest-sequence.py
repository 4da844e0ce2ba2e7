"""Pads the mask to the batch's longest sequence instead of ``max_length``: right when one sequence
fills the padding, too short otherwise.

loses: padding_mask
"""


def causal_mask(length):
    return np.tril(np.ones((length, length), dtype=bool))


def padding_mask(lengths, max_length):
    lengths = np.asarray(lengths)
    if lengths.min(initial=0) < 0 or lengths.max(initial=0) > max_length:
        raise ValueError(f"lengths must lie in [0, {max_length}], not {lengths.tolist()}")
    longest = int(lengths.max(initial=0))
    return (np.arange(longest)[None, :] < lengths[:, None])[:, None, :]
