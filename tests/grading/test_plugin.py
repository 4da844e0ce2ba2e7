"""Does the graders' pytest plugin turn each grader test into the check a student reads?"""

import contextlib
import types

import numpy as np
import pytest

from tpdl import grading
from tpdl.grading import plugin

GRADERS = """
import numpy as np
import pytest

from tpdl.grading import StudentCodeError

pytestmark = pytest.mark.cell("cell_a")


@pytest.mark.points(2)
def test_passes(student):
    student.note = "answered in 3 ms"
    assert student.value == 1


@pytest.mark.points(1)
def test_fails(student):
    assert student.value == 2, "value should be 2"


@pytest.mark.points(1)
def test_student_code(student):
    raise StudentCodeError("f raised ValueError")


@pytest.mark.points(1)
def test_internal(student):
    return {}["a key the grader forgot"]


@pytest.mark.points(3)
@pytest.mark.cell("cell_b")
def test_skipped(student):
    pytest.skip("no Docker engine on this machine")
"""


class Submission:
    """What the plugin needs of a submission: a value to check, a note, a profile of each check."""

    def __init__(self):
        self.value, self.note, self.checked = 1, "", []
        self.session = types.SimpleNamespace(profile=types.SimpleNamespace(check=self.check))

    @contextlib.contextmanager
    def check(self, name):
        self.checked.append(name)
        yield


def run(folder, cells=None, exit_code=pytest.ExitCode.TESTS_FAILED) -> plugin.GradingPlugin:
    """Run the graders of ``folder`` as ``plugin.grade_submission`` does."""
    grading_plugin = plugin.GradingPlugin(Submission(), cells)
    args = [str(folder), "-p", "no:cacheprovider", "-p", "no:terminal", "--assert=plain"]
    args += ["--import-mode=importlib", "-o", "addopts=", "--strict-markers", "--rootdir", str(folder)]
    assert pytest.main(args, plugins=[grading_plugin]) == exit_code
    return grading_plugin


@pytest.fixture
def graders(tmp_path):
    (tmp_path / "test_checks.py").write_text(GRADERS)
    return tmp_path


def test_is_each_outcome_a_check_with_its_points_and_message(graders):
    ran = run(graders)
    checks = {check.name: check for check in ran.checks.values()}
    assert ran.submission.checked == ["passes", "fails", "student_code", "internal", "skipped"]
    passed = checks["passes"]
    assert (passed.passed, passed.points, passed.message, passed.cell) == (
        True,
        2.0,
        "answered in 3 ms",
        "cell_a",
    )
    assert (checks["fails"].points, checks["fails"].message) == (0.0, "value should be 2")
    assert checks["student_code"].message == "f raised ValueError"
    assert "internal error, not your fault" in checks["internal"].message
    assert "a key the grader forgot" not in checks["internal"].message
    assert len(ran.internal) == 1 and "a key the grader forgot" in ran.internal[0]
    assert "_pytest" not in ran.internal[0], "the traceback starts at the grader's frame"
    skipped = checks["skipped"]
    assert (skipped.counted, skipped.points, skipped.cell) == (False, 0.0, "cell_b")
    assert skipped.message == "no Docker engine on this machine"
    result = grading.Result("ada", "tp1", list(ran.checks.values()))
    assert (result.score, result.max_score) == (2.0, 5.0), "a skipped check is neither earned nor lost"


def test_do_only_the_checks_of_the_cells_asked_for_run(graders):
    ran = run(graders, {"cell_b"}, pytest.ExitCode.OK)
    assert [check.name for check in ran.checks.values()] == ["skipped"]


def test_is_a_reference_shared_by_graders_loaded_once_by_its_path(tmp_path):
    (tmp_path / "reference.py").write_text("import itertools\nCOUNTER = itertools.count()\n")
    grader = str(tmp_path / "test_one.py")
    first = plugin.grader_module(grader, "reference")
    assert plugin.grader_module(grader, "reference") is first
    assert next(first.COUNTER) == 0 and next(plugin.grader_module(grader, "reference").COUNTER) == 1
    with pytest.raises(FileNotFoundError):
        plugin.grader_module(grader, "absent")


def test_do_the_graders_assertions_tell_the_student_what_is_wrong():
    value = np.zeros((2, 3))
    assert grading.as_array(value, "x", (None, 3)) is value
    with pytest.raises(AssertionError, match=r"x has shape \(2, 3\); expected \('any', 4\)"):
        grading.as_array(value, "x", (None, 4))
    with pytest.raises(AssertionError, match="x should be a NumPy array, not list"):
        grading.as_array([0.0], "x")
    assert grading.as_pair([1, 2], "split") == (1, 2)
    with pytest.raises(AssertionError, match="split should return a pair"):
        grading.as_pair((1, 2, 3), "split")


def test_does_a_function_that_refuses_everything_fail_assert_accepts():
    class Refusing:
        def call(self, name, *args):
            raise grading.StudentCodeError(f"{name} raised ValueError")

    class Accepting:
        def call(self, name, *args):
            return 0

    grading.assert_accepts(Accepting(), "build_tap", 3)
    with pytest.raises(AssertionError, match="build_tap should accept valid input"):
        grading.assert_accepts(Refusing(), "build_tap", 3)
