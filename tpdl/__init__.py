"""tpdl: the helpers of the TP_DL deep-learning course kit.

Importing ``tpdl`` before TensorFlow keeps TensorFlow's start-up log lines off stderr.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
