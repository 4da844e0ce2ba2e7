"""nbgrader's own app tests, run on kit courses.

nbgrader ships the tests of its commands in the installed package (``nbgrader/tests/apps/``); each
writes a course's ``nbgrader_config.py`` (its folder, sometimes its exchange, timeout or penalty)
and runs nbgrader's real apps in it. Here every such course is a kit course: the kit's
``nbgrader_config.py`` is read first, as a site-wide Jupyter configuration, and the test's own
configuration and command line come after it. The kit's behaviour (exporters, exchange classes,
late penalty plugin, preprocessors, ignore list, execution limits...) applies; where the course is
and which course it is stay the test's own (``LOCATION``), and ``TPDL_COURSE_DIR`` names the
test's course folder.

One step of nbgrader's tests is adapted (``released``): collect's and submit's tests put a notebook
holding solutions straight into ``release/``, and the kit's ``release_assignment`` refuses to hand out
solution material (``tests/classroom/test_nbgrader_doors.py``). Such a notebook is put there as
``generate_assignment`` would have released it, so that those tests reach what they test.

A test that fails because the kit differs from nbgrader on purpose is listed in ``DELIBERATE``
with the reason; it must keep failing (strict xfail), so that a difference fixed or lost is seen.
"""

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions
from nbgrader.tests.apps.base import BaseTestApp
from nbgrader.tests.apps.conftest import cache, course_dir, db, exchange, temp_cwd
from traitlets.config.loader import PyFileConfigLoader

from tpdl.core import paths

# nbgrader's fixtures, for the tests collected in this folder.
__all__ = ["cache", "course_dir", "db", "exchange", "temp_cwd"]

KIT_CONFIG = paths.course_dir() / "nbgrader_config.py"  # read before any test moves TPDL_COURSE_DIR

# What says where a course is and which course it is: the kit's nbgrader_config.py derives these
# from its own folder; each test course keeps nbgrader's defaults or its own settings.
LOCATION = {"CourseDirectory": ("root", "db_url", "course_id"), "Exchange": ("root",)}

# Tests of nbgrader's that the kit fails on purpose, by test id, with the reason.
DELIBERATE = {
    "TestNbGraderAutograde::test_late_submission_penalty_none": (
        "a kit course takes points off late work by default: its late penalty plugin's penalty_method is "
        "'per_hour' (one point per started hour, PenaltyPerHour.points_per_hour) where nbgrader's default is "
        "'none'; the test's submission, an hour late, loses 1 point (set "
        "LateSubmissionPlugin.penalty_method = 'none' for nbgrader's default)"
    ),
}


def write_kit_settings(kit_config: Path, folder: Path) -> None:
    """Write the kit's ``nbgrader_config.py`` into ``folder``, its ``LOCATION`` settings left out.

    The copy derives any location from ``folder``, never from the kit's course: a location setting
    the kit adds without listing it in ``LOCATION`` is caught here rather than followed.
    """
    kit = kit_config.read_text(encoding="utf-8")
    left_out = "".join(f"c.{cls}.pop({name!r}, None)\n" for cls, names in LOCATION.items() for name in names)
    (folder / "nbgrader_config.py").write_text(
        f"{kit}\n# Each course says where it is and which it is.\n{left_out}"
    )
    settings = PyFileConfigLoader("nbgrader_config.py", str(folder)).load_config()
    strays = [
        f"{cls}.{name}"
        for cls, section in settings.items()
        for name, value in section.items()
        if str(folder) in repr(value)
    ]
    if strays:
        raise pytest.UsageError(
            f"nbgrader_config.py derives {', '.join(strays)} from the course's folder: "
            f"add them to LOCATION in {Path(__file__).name}"
        )


@pytest.fixture(scope="session")
def kit_settings(tmp_path_factory) -> Path:
    """A Jupyter configuration folder holding the kit's nbgrader settings."""
    folder = tmp_path_factory.mktemp("kit-settings")
    write_kit_settings(KIT_CONFIG, folder)
    return folder


def released(copy_file, course: str):
    """``BaseTestApp._copy_file`` writing a notebook copied into ``course``'s ``release/`` as
    ``generate_assignment`` releases it (solutions, hidden tests and mark schemes cleared)."""
    release = Path(course, "release").resolve()

    def copy(test, src: str, dest: str) -> None:
        copy_file(test, src, dest)
        if dest.endswith(".ipynb") and Path(dest).resolve().is_relative_to(release):
            notebook = nbformat.read(dest, as_version=4)
            for step in (ClearSolutions(), ClearHiddenTests(), ClearMarkScheme()):
                notebook, _ = step.preprocess(notebook, {})
            nbformat.write(notebook, dest)

    return copy


@pytest.fixture(autouse=True)
def kit_layer(kit_settings, course_dir, monkeypatch):
    """Make the test's course a kit course (the environment's tools, such as alembic, on PATH)."""
    # nbgrader's run_nbgrader replaces os.environ by a plain copy of it and leaves that copy behind:
    # the process's own mapping is put back after the test, so that nothing set here outlives it.
    monkeypatch.setattr(os, "environ", os.environ)
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(kit_settings))
    monkeypatch.setenv("TPDL_COURSE_DIR", course_dir)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(BaseTestApp, "_copy_file", released(BaseTestApp._copy_file, course_dir))


def pytest_collection_modifyitems(config, items):
    """nbgrader's tests are slow (each runs its apps, most run a kernel); the deliberate differences
    are expected to fail."""
    for item in items:
        if item.cls is None or not item.cls.__module__.startswith("nbgrader.tests."):
            continue
        item.add_marker(pytest.mark.slow)
        reason = DELIBERATE.get(item.nodeid.split("::", 1)[1])
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
