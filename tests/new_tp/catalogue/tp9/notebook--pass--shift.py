"""A whole solution: doubles with `np.ldexp(array, 1)`."""
# %% double
def double(x):
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"double takes numbers, not {array.dtype}")
    array = array.astype(np.float64)
    return np.ldexp(array, 1)
