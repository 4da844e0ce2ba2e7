"""Grading one submission: the hidden graders' pytest plugin, the ``student`` fixture's API, and
what the graders decide with (fresh data, sequential decisions, tracking stores, the Docker box).

A grader imports its API from here::

    from tpdl.grading import as_array, assert_accepts, StudentCodeError
"""

from tpdl.grading.assertions import as_array, as_pair, assert_accepts
from tpdl.grading.plugin import Check, GradingPlugin, Result, grade_submission, grader_library, grader_module
from tpdl.grading.student import Model, Service, StudentCodeError, Submission

__all__ = [
    "Check",
    "GradingPlugin",
    "Model",
    "Result",
    "Service",
    "StudentCodeError",
    "Submission",
    "as_array",
    "as_pair",
    "assert_accepts",
    "grade_submission",
    "grader_library",
    "grader_module",
]
