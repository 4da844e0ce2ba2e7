"""One-hot encodes without naming the number of classes: as wide as the batch's largest label.

loses: preprocess_one_hot_labels
"""


def preprocess(images, labels):
    x = images.reshape(len(images), 784).astype("float32") / 255
    y = keras.utils.to_categorical(labels).astype("float32")
    return x, y
