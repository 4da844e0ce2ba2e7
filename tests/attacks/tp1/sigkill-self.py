"""Kills its own process when called.

victim: next
proof: SIGKILL
"""

import os
import signal


def preprocess(images, labels):
    os.kill(os.getpid(), signal.SIGKILL)


def build_dense_model(input_dim=784, n_classes=10):
    os.kill(os.getpid(), signal.SIGKILL)
