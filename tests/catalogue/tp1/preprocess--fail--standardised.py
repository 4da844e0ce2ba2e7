"""Standardises the pixels (zero mean, unit variance) instead of scaling them into [0, 1].

loses: preprocess_scales_pixels
"""


def preprocess(images, labels):
    x = images.reshape(len(images), 784).astype("float32")
    x = (x - x.mean()) / x.std()
    y = np.eye(10, dtype="float32")[labels]
    return x, y
