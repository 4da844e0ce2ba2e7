"""Flattens each image column by column (transposed), not row by row.

loses: preprocess_scales_pixels
"""


def preprocess(images, labels):
    x = images.transpose(0, 2, 1).reshape(len(images), 784).astype("float32") / 255
    y = np.eye(10, dtype="float32")[labels]
    return x, y
