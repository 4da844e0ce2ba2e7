"""Divides by the batch's brightest pixel: the same as 255 only for a batch holding a white pixel.

loses: preprocess_scales_pixels
"""


def preprocess(images, labels):
    x = images.reshape(len(images), 784).astype("float32")
    x = x / x.max()
    y = np.eye(10, dtype="float32")[labels]
    return x, y
