"""Flattens by assigning the given array's .shape, which modifies the caller's array.

loses: preprocess_shapes_and_dtypes
"""
def preprocess(images, labels):
    """Flatten and scale ``images``; one-hot encode ``labels``. Returns ``(x, y)``."""
    images.shape = (images.shape[0], 784)
    x = images.astype("float32") / 255.0
    y = np.eye(10, dtype="float32")[labels]
    return x, y
