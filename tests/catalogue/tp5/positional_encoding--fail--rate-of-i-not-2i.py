"""Uses 10000^(i/depth) with i the feature index, so each pair of features gets two frequencies.

loses: positional_encoding_is_the_sinusoidal_one
"""


def positional_encoding(length, depth):
    if depth % 2:
        raise ValueError("odd depth")
    angles = np.arange(length)[:, None] / 10000 ** (np.arange(depth) / depth)
    encoding = np.where(np.arange(depth) % 2 == 0, np.sin(angles), np.cos(angles))
    return encoding.astype("float32")
