"""``nbgrader validate`` without side effects on the student's folder.

Validation runs the whole notebook in its folder, and the notebook writes its deliverables there
(trained models, the tracking store, figures): validating would replace the ones the student
trained on the full budget with the small runs of the ``ci`` budget. :func:`work_in_a_copy`, called
when ``tpdl`` is imported under validation, copies the folder's files (not the run outputs) into
a scratch folder, makes it the working folder of the kernel for the rest of the run, and removes it
when the kernel shuts down.
"""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

LEFT_BEHIND = ("mlflow.db", "mlruns", "mlartifacts", ".ipynb_checkpoints", "__pycache__")
MOST_BYTES = 50 * 2**20  # larger files (models, data) are not needed to validate


def copy_sources(folder: Path, copy: Path) -> None:
    """Copy ``folder``'s files into ``copy``, without run outputs and files over ``MOST_BYTES``."""

    def left_out(where, names):
        return [n for n in names if n in LEFT_BEHIND or _too_big(Path(where) / n)]

    shutil.copytree(folder, copy, symlinks=True, ignore=left_out, dirs_exist_ok=True)


def work_in_a_copy() -> Path:
    """Copy the working folder's sources into a scratch folder and work there; returns the copy."""
    here = Path.cwd()
    scratch = Path(tempfile.mkdtemp(prefix="tpdl-validate-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)  # when the kernel shuts down
    copy_sources(here, scratch)
    os.chdir(scratch)
    if "" not in sys.path:
        sys.path.insert(0, "")
    print(f"validation: running in a scratch copy of {here.name}/; your files are left as they are")
    return scratch


def _too_big(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > MOST_BYTES
    except OSError:
        return True
