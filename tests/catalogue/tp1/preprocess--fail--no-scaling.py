"""Keeps the raw 0-255 pixel values.

loses: preprocess_scales_pixels
"""


def preprocess(images, labels):
    x = images.reshape(len(images), 784).astype("float32")
    y = np.eye(10, dtype="float32")[labels]
    return x, y
