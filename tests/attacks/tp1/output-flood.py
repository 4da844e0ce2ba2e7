"""Prints 100 MB to stdout and to stderr.

victim: next
proof: bytes left out
"""

import sys

line = "x" * 1023 + "\n"
for _ in range(100 * 1024):
    sys.stdout.write(line)
    sys.stderr.write(line)


def preprocess(images, labels):
    for _ in range(100 * 1024):
        print("y" * 1023)
    return np.zeros((len(images), 784), np.float32), np.zeros((len(labels), 10), np.float32)
