"""Fills boolean masks with loops (ones and zeros assigned into a boolean array)."""


def causal_mask(length):
    mask = np.zeros((length, length), dtype=bool)
    for i in range(length):
        for j in range(i + 1):
            mask[i, j] = 1
    return mask


def padding_mask(lengths, max_length):
    rows = []
    for length in lengths:
        if not 0 <= length <= max_length:
            raise ValueError(f"length {length} outside [0, {max_length}]")
        rows.append([[1] * int(length) + [0] * (max_length - int(length))])
    return np.array(rows, dtype=bool)
