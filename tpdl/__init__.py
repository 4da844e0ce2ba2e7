"""tpdl: the helpers of the TP_DL deep-learning course kit.

Importing ``tpdl`` first, as every notebook of the course does:

* keeps TensorFlow's start-up lines and MLflow's store set-up lines off stderr, where nbgrader
  counts any output of a test cell as a failure (in a notebook's kernel, TensorFlow is imported
  here, its C++ start-up lines silenced, so that none of them lands in a later cell's output);
* under ``nbgrader validate`` (the Validate button), moves the notebook's working folder to a
  scratch copy (:mod:`tpdl.course.validation`): validating never changes the files a student hands in.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

__version__ = "0.2.0.dev0"  # the one version: pyproject.toml and the student package read it here


def _start_tensorflow_quietly() -> None:
    """Import TensorFlow and run one operation with the process's stderr closed: the lines its
    libraries write before their logging starts ignore ``TF_CPP_MIN_LOG_LEVEL``."""
    saved, silent = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(silent, 2)
    try:
        import tensorflow

        tensorflow.zeros(1) + 1
    except ImportError:
        pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(silent)


if "ipykernel" in sys.modules:
    _start_tensorflow_quietly()

if os.environ.get("NBGRADER_EXECUTION") == "validate":
    from tpdl.course import validation

    validation.work_in_a_copy()
