"""Answers with a list nested a hundred thousand levels deep."""


def preprocess(images, labels):
    nested = []
    for _ in range(100000):
        nested = [nested]
    return nested, nested
