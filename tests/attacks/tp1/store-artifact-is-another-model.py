"""Hands in a run whose logged model is another file than the model handed in beside it.

kind: edit
base: reference
graders: test_log_training.py, test_saved_model.py
loses: training_run_handed_in
proof: is not the mnist_dense.keras you handed in
"""

import shutil

from tpdl.core import paths


def edit(folder):
    (artifact,) = folder.glob("mlruns/*/*/artifacts/mnist_dense.keras")
    shutil.copyfile(paths.sample_submission("reference", "tp5") / "reversal.keras", artifact)
