"""tpdl: the helpers of the TP_DL deep-learning course kit.

Importing ``tpdl`` first, as every notebook of the course does:

* keeps TensorFlow's start-up lines and MLflow's store set-up lines off stderr, where nbgrader
  counts any output of a test cell as a failure;
* under ``nbgrader validate`` (the Validate button), moves the notebook's working folder to a
  scratch copy (:mod:`tpdl.validation`): validating never changes the files a student hands in.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

__version__ = "0.1.0"

if os.environ.get("NBGRADER_EXECUTION") == "validate":
    from tpdl import validation

    validation.work_in_a_copy()
