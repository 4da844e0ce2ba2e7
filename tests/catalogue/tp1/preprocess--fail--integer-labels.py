"""Returns the labels as they are instead of one-hot rows.

loses: preprocess_shapes_and_dtypes, preprocess_one_hot_labels
"""


def preprocess(images, labels):
    x = images.reshape(len(images), 784).astype("float32") / 255
    return x, np.asarray(labels, dtype="float32")
