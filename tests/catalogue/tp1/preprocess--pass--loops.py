"""Builds both arrays with explicit loops."""


def preprocess(images, labels):
    x = np.empty((len(images), 784), dtype=np.float32)
    y = np.zeros((len(labels), 10), dtype=np.float32)
    for i, (image, label) in enumerate(zip(images, labels)):
        x[i] = image.flatten() / np.float32(255)
        y[i, int(label)] = 1
    return x, y
