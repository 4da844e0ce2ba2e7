"""An empty MLflow tracking store, made once per machine and MLflow version, for the judge to hand out.

A grader that calls a student's logging function gives it a store of its own. MLflow spends about
three seconds creating the tables of a new SQLite store; a store that already holds them, and no
experiment nor run, behaves the same for the student's code. The judge makes one in a process of
its own (no student code anywhere near it), keeps it in the user's cache folder under MLflow's
version, and gives each graded call a fresh copy of its bytes.
"""

import fcntl
import functools
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tpdl.core import paths

_MAKE = """
import sys, mlflow
mlflow.set_tracking_uri("sqlite:///" + sys.argv[1])
mlflow.MlflowClient().search_experiments()  # creates and upgrades the tables
"""


@functools.cache
def empty_store() -> bytes:
    """The bytes of an empty SQLite tracking store of the installed MLflow (made on first use)."""
    version = importlib.metadata.version("mlflow")
    folder = paths.user_cache()
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / f"empty-mlflow-{version}.db"
    with open(folder / "empty-mlflow.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two judges starting together make it once
        if not store.is_file():
            with tempfile.TemporaryDirectory(prefix="making-", dir=folder) as scratch:
                made = Path(scratch) / "empty.db"
                done = subprocess.run(
                    [sys.executable, "-c", _MAKE, str(made)], capture_output=True, text=True, cwd=scratch
                )
                if done.returncode != 0 or not made.is_file():
                    raise RuntimeError(f"an empty MLflow store could not be made:\n{done.stderr[-2000:]}")
                os.replace(made, store)
    return store.read_bytes()
