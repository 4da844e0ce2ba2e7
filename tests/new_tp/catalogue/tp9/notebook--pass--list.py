"""A whole solution: doubles with `np.array([2.0 * v for v in array.ravel()]).reshape(array.shape)`."""
# %% double
def double(x):
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"double takes numbers, not {array.dtype}")
    array = array.astype(np.float64)
    return np.array([2.0 * v for v in array.ravel()]).reshape(array.shape)
