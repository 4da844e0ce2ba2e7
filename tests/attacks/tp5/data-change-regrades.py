"""A result computed with one dataset at hand must not survive another dataset being put in its place.

kind: rerun
proof: regraded after the data changed
"""

import shutil
import tempfile
from pathlib import Path

import numpy as np

from tpdl.core import paths


def scenario(course):
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for name in ("mnist", "cifar10"):
            shutil.copyfile(paths.FIXTURES / f"{name}.npz", folder / f"{name}.npz")
        course.submit("steady", "untouched")
        course.grade(TPDL_DATA_DIR=str(folder))
        assert "steady" in course.grade(TPDL_DATA_DIR=str(folder)).reused
        with np.load(folder / "mnist.npz") as archive:
            arrays = {key: archive[key] for key in archive.files}
        arrays["y_test"] = arrays["y_test"][::-1].copy()  # other labels: other accuracies
        np.savez(folder / "mnist.npz", **arrays)
        assert "steady" in course.grade(TPDL_DATA_DIR=str(folder)).graded_now, "reused although the data changed"
    return "regraded after the data changed"
