"""Replaces the model file by a named pipe, which blocks whoever opens it, and adds a device node.

kind: edit
base: reference
graders: test_saved_model.py
loses: saved_model_reaches_the_course_accuracy, saved_model_is_dense
proof: mnist_dense.keras (not a regular file: only regular files are graded)
"""

import os


def edit(folder):
    (folder / "mnist_dense.keras").unlink()
    os.mkfifo(folder / "mnist_dense.keras")
    try:
        os.mknod(folder / "zero", 0o644 | 0o020000, os.makedev(1, 5))  # a character device: /dev/zero
    except OSError:
        pass
