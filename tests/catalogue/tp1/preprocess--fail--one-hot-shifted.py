"""Puts each label's 1 one position too far (labels counted from 1).

loses: preprocess_one_hot_labels
"""


def preprocess(images, labels):
    x = images.reshape(len(images), 784).astype("float32") / 255
    y = np.roll(np.eye(10, dtype="float32")[labels], 1, axis=1)
    return x, y
