"""A function that never returns.

victim: next
proof: did not answer within
"""


def preprocess(images, labels):
    while True:
        pass


def build_dense_model(input_dim=784, n_classes=10):
    while True:
        pass
