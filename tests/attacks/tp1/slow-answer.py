"""A function that sleeps instead of answering.

proof: did not answer within
"""

import time


def preprocess(images, labels):
    time.sleep(10**6)
