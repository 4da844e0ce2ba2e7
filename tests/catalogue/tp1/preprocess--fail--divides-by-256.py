"""Divides by 256: the brightest pixel does not map to 1.

loses: preprocess_scales_pixels
"""


def preprocess(images, labels):
    x = images.reshape(len(images), 784).astype("float32") / 256
    y = np.eye(10, dtype="float32")[labels]
    return x, y
