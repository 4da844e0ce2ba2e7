"""Adds the array to itself, after a float conversion that refuses text."""


def double(x):
    try:
        array = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"double takes numbers: {error}") from None
    return array + array
