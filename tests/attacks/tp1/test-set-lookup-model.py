"""Hands in a dense model that has stored the public test set and looks every answer up.

kind: edit
base: reference
graders: test_saved_model.py
loses: saved_model_reaches_the_course_accuracy
proof: one that looks the test set up does not
"""

import importlib.util

from tpdl.course import data
from tpdl.core import paths


def edit(folder):
    spec = importlib.util.spec_from_file_location("lookup", paths.PACKAGE.parent / "tests" / "attacks" / "_lookup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mnist = data.load_at_hand("mnist")
    module.lookup_model(mnist.x_test, mnist.y_test, (784,)).save(folder / "mnist_dense.keras")
