"""Hands in a symbolic link to the reference's trained network instead of a model of its own.

kind: edit
base: reference
loses: cnn_beats_the_course_on_the_test_set, cnn_is_convolutional
proof: cifar10_cnn.keras (a link: only regular files are graded)
"""

import os

from tpdl.core import paths


def edit(folder):
    target = (paths.sample_submission("reference", "tp3") / "cifar10_cnn.keras").resolve()
    os.unlink(folder / "cifar10_cnn.keras")
    os.symlink(target, folder / "cifar10_cnn.keras")
