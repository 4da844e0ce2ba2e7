"""A function that sleeps instead of answering."""

import time


def preprocess(images, labels):
    time.sleep(10**6)
