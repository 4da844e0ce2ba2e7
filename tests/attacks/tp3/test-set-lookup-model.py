"""Hands in a "CNN" (one identity convolution) that has stored the public test set and looks answers up.

kind: edit
base: reference
loses: cnn_beats_the_course_on_the_test_set
proof: one that looks the test set up does not
"""

import importlib.util

from tpdl.course import data
from tpdl.core import paths


def edit(folder):
    spec = importlib.util.spec_from_file_location("lookup", paths.PACKAGE.parent / "tests" / "attacks" / "_lookup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cifar = data.load_at_hand("cifar10")
    model = module.lookup_model(cifar.x_test, cifar.y_test, (32, 32, 3), width=256, convolution=True)
    model.save(folder / "cifar10_cnn.keras")
