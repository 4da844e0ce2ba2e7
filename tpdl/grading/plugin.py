"""Grading one submission: hidden pytest graders, run by the judge, asking a sandboxed worker.

A grader is a plain pytest function of the ``student`` fixture (a :class:`Submission`), with its
points and grade cell declared beside it and a student-facing message on every assertion, from
its TP's catalogue (``tpdl.core.i18n``)::

    _ = i18n.domain(__file__)
    pytestmark = pytest.mark.cell("preprocess_tests")

    @pytest.mark.points(1)
    def test_preprocess_scales_to_unit_range(student):
        x, _labels = student.call("preprocess", IMAGES, LABELS)
        assert x.max() <= 1.0, _("preprocess should scale pixel values into [0, 1]")

The student's code never runs in this process: ``student.call`` sends the judge's inputs to the
worker and gets plain data back. Expected values are computed here and never sent.
"""

import contextlib
import importlib.util
import io
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from tpdl.core.i18n import KIT as _
from tpdl.core.paths import graders
from tpdl.grading.student import StudentCodeError, Submission
from tpdl.judge import sandbox

__all__ = ["Check", "GradingPlugin", "Result", "grade_submission", "grader_library", "grader_module"]


@dataclass
class Check:
    name: str
    points: float
    max_points: float
    passed: bool
    message: str
    cell: str | None = None
    counted: bool = True  # False: not run here (a skip), so neither earned nor lost


@dataclass
class Result:
    student: str
    assignment: str
    checks: list[Check] = field(default_factory=list)
    notebook: dict = field(default_factory=dict)
    seconds: float = 0.0
    internal_errors: int = 0
    profile: dict = field(default_factory=dict)  # where the time went (tpdl.judge.profile); not in to_json
    tracebacks: list[str] = field(default_factory=list)  # each internal error's check and traceback

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_points for c in self.checks if c.counted), 6)

    def to_json(self) -> dict:
        return {
            "student": self.student,
            "assignment": self.assignment,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [asdict(c) for c in self.checks],
            "notebook": self.notebook,
            "seconds": round(self.seconds, 3),
            "internal_errors": self.internal_errors,
        }


# --------------------------------------------------------------------------- the pytest side


def _message(excinfo) -> tuple[str, bool]:
    """The student-facing message of a failure, and whether it is an internal error."""
    error = excinfo.value
    if isinstance(error, (AssertionError, StudentCodeError)):
        text = (
            str(error).split("\nassert ")[0].strip()
        )  # without pytest's explanation, where it rewrote asserts
        return (text or _("This check failed.")), False
    return _(
        "The grader could not complete this check (an internal error, not your fault); "
        "your instructor has the details."
    ), True


def _graders_traceback(error: BaseException, grader: Path) -> str:
    """The traceback of an internal error from the grader's own frame on (pytest's frames left out)."""
    frame = error.__traceback__
    while frame is not None and Path(frame.tb_frame.f_code.co_filename) != grader:
        frame = frame.tb_next
    return "".join(traceback.format_exception(type(error), error, frame or error.__traceback__))


class GradingPlugin:
    """Collects one result per grader test; provides the ``student`` fixture."""

    def __init__(self, submission: Submission, cells: set[str] | None = None, checks: set[str] | None = None):
        self.submission = submission
        self.cells = cells
        self.names = checks
        self.checks: dict[str, Check] = {}
        self.internal: list[str] = []

    @pytest.fixture(scope="session")
    def student(self):
        return self.submission

    def pytest_collection_modifyitems(self, config, items):
        """With ``cells``, only the checks of those grade cells run; with ``checks``, only the checks of
        those names (the kit's catalogue tests use them)."""
        if self.cells is None and self.names is None:
            return
        keep = [
            item
            for item in items
            if (self.cells is None or ((m := item.get_closest_marker("cell")) and m.args[0] in self.cells))
            and (self.names is None or item.name.removeprefix("test_") in self.names)
        ]
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "points(n): points the check is worth")
        config.addinivalue_line("markers", "cell(grade_id): the nbgrader grade cell the check counts towards")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        with self.submission.session.profile.check(item.name.removeprefix("test_")):
            yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        name = item.name.removeprefix("test_")
        points_marker = item.get_closest_marker("points")
        max_points = float(points_marker.args[0]) if points_marker else 0.0
        cell_marker = item.get_closest_marker("cell")
        check = self.checks.setdefault(
            item.nodeid,
            Check(name, max_points, max_points, True, "", cell_marker.args[0] if cell_marker else None),
        )
        if report.when == "call" and report.passed and self.submission.note:
            check.message = self.submission.note  # a figure worth reporting on a check that passed
        if report.when == "setup":
            self.submission.note = ""
        if report.failed and check.passed:
            message, internal = _message(call.excinfo)
            if internal:
                self.internal.append(f"{item.nodeid}\n{_graders_traceback(call.excinfo.value, item.path)}")
            check.passed, check.points, check.message = False, 0.0, message
        elif report.skipped and check.passed:
            # A check that cannot run on this machine (no Docker engine, say) is not counted.
            check.passed, check.points, check.counted = False, 0.0, False
            check.message = str(getattr(call.excinfo.value, "msg", "")) or _("This check was not run.")


def grade_submission(
    zygote: sandbox.Zygote,
    assignment: str,
    path: Path,
    student: str = "student",
    notebook: str | None = None,
    cells: set[str] | None = None,
    checks: set[str] | None = None,
) -> tuple[Result, str]:
    """Run ``graders/<assignment>/`` against the submission in ``path``; return its result and a log.

    ``cells`` restricts grading to the checks of those grade cells, ``checks`` to the checks of
    those names.
    """
    started = time.monotonic()
    submission = Submission(zygote, path, notebook or f"{assignment}.ipynb", student)
    plugin = GradingPlugin(submission, cells, checks)
    args = [
        str(graders(assignment)),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        # Its clean-up runs the garbage collector twice a session, over the whole judge's heap (a tenth
        # of a second each in a class run): the graders' own unraisable exceptions are not grades.
        "-p",
        "no:unraisableexception",
        "--assert=plain",
        "--import-mode=importlib",
        "-o",
        "addopts=",
        "--strict-markers",
        "--rootdir",
        str(graders(assignment)),
    ]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            code = pytest.main(args, plugins=[plugin])
        finally:
            with submission.session.profile.timed("judge", "stop the workers"):
                submission.close()
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(
            f"the graders of {assignment} could not run (pytest exit {code}):\n{out.getvalue()}"
        )
    result = Result(student, assignment, list(plugin.checks.values()))
    result.notebook = {"cells": submission.cells}
    result.internal_errors = len(plugin.internal)
    result.tracebacks = plugin.internal
    result.seconds = time.monotonic() - started
    result.profile = submission.session.profile.finish().to_json()
    log = "\n\n".join(submission.events + plugin.internal)
    return result, log


LIBRARY = "graderlib.py"


def grader_library(grader_file: str | None = None):
    """``graders/graderlib.py``, the library every TP's graders share (found from a grader's
    ``__file__``, links resolved; by default the course's)."""
    folder = Path(grader_file).resolve().parent if grader_file else graders("_")
    return grader_module(str(folder / "_"), "graderlib", folder.parent)


def grader_module(grader_file: str, name: str, folder: Path | None = None):
    """The module ``name`` beside the grader ``grader_file`` (a reference several graders share).

    Graders are imported one by one, outside any package, so a shared reference is loaded by its
    path; pytest collects only the ``test_*`` files, never it.
    """
    path = (folder / f"{name}.py") if folder is not None else Path(grader_file).with_name(f"{name}.py")
    key = f"tpdl_graders_{path.parent.name}_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"{path} is not a Python module")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[key] = module
    return sys.modules[key]
