"""Stacks sines and cosines on a new last axis and flattens it: they interleave."""


def positional_encoding(length, depth):
    if depth % 2 != 0:
        raise ValueError(f"depth {depth} is odd")
    frequencies = np.power(10000.0, -np.arange(depth // 2) * 2.0 / depth)
    angles = np.outer(np.arange(length), frequencies)
    return np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(length, depth).astype(np.float32)
