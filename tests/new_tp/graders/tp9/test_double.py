"""Hidden checks of ``double`` (grade cell ``double_tests``, 2 points)."""

import numpy as np
import pytest

from tpdl import grading

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("double_tests")


@pytest.mark.points(1)
def test_double_doubles_every_number(student):
    x = np.array([[-1.5, 0.0], [3.0, 1e6]])
    lib.assert_close(student.call("double", x), 2 * x, "double of a 2x2 array", **lib.FLOAT64)
    lib.assert_close(student.call("double", 7), 14.0, "double(7)", **lib.FLOAT64)


@pytest.mark.points(1)
def test_double_refuses_text(student):
    lib.assert_refuses(student, "double", "two", what='double("two")')
