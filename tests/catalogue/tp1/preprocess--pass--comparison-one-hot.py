"""One-hot encodes by broadcasting a comparison with arange."""


def preprocess(images, labels):
    x = np.divide(images.reshape(images.shape[0], -1), 255, dtype=np.float32)
    y = (np.asarray(labels)[:, None] == np.arange(10)).astype(np.float32)
    return x, y
