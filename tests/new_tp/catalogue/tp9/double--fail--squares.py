"""Squares instead of doubling: right for 2 (and 0) only.

loses: double_doubles_every_number
"""


def double(x):
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise ValueError("double takes numbers")
    return array.astype(np.float64) ** 2
