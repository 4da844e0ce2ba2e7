"""Min-max scales with the batch's own extremes: a dim batch is stretched to [0, 1].

loses: preprocess_scales_pixels
"""


def preprocess(images, labels):
    x = images.reshape(len(images), 784).astype("float32")
    x = (x - x.min()) / (x.max() - x.min())
    y = np.eye(10, dtype="float32")[labels]
    return x, y
