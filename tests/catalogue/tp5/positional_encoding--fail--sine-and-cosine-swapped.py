"""Puts the cosines on the even features and the sines on the odd ones.

loses: positional_encoding_is_the_sinusoidal_one
"""


def positional_encoding(length, depth):
    if depth % 2:
        raise ValueError("odd depth")
    angles = np.arange(length)[:, None] / 10000 ** (np.arange(0, depth, 2) / depth)
    encoding = np.zeros((length, depth), dtype="float32")
    encoding[:, 0::2], encoding[:, 1::2] = np.cos(angles), np.sin(angles)
    return encoding
