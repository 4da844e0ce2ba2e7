"""Returns float64 arrays (NumPy's default) instead of float32.

loses: preprocess_shapes_and_dtypes
"""


def preprocess(images, labels):
    x = images.reshape(len(images), 784) / 255.0
    y = np.eye(10)[labels]
    return x, y
