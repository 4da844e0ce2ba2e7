"""Is a new TP picked up by every tool from its own folders alone?

``tests/new_tp/`` holds a sixth TP as small as one can be: a notebook source, a manifest and a
grader, and its catalogue. Put into a scratch course beside the kit's shared graders' library, it
is released, written into the sample class and graded by the Makefile's own targets, and the kit's
own tests of every TP (the course checks, the catalogue) run on it, with nothing else edited.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tpdl.core import paths

NEW = paths.course_dir() / "tests" / "new_tp"
TP = "tp9"


@pytest.fixture(scope="module")
def sixth_tp_course(tmp_path_factory):
    real = paths.course_dir()
    root = tmp_path_factory.mktemp("new-tp") / "course"
    shutil.copytree(NEW / "source", root / "source")
    shutil.copytree(NEW / "graders", root / "graders")
    shutil.copytree(NEW / "catalogue", root / "tests" / "catalogue")
    for library in paths.graders().glob("*.py"):
        (root / "graders" / library.name).symlink_to(library)
    shutil.copyfile(real / "nbgrader_config.py", root / "nbgrader_config.py")
    for name in ("requirements.lock", "pyproject.toml"):  # what the set-up's stamp depends on
        (root / name).symlink_to(real / name)
    return root


def environment(root) -> dict:
    return {**os.environ, "TPDL_COURSE_DIR": str(root)}


def make(root, *targets) -> subprocess.CompletedProcess:
    venv = paths.course_dir() / ".venv"
    return subprocess.run(
        ["make", "-C", str(root), "-f", str(paths.course_dir() / "Makefile"), f"VENV={venv}", *targets],
        env=environment(root),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_a_new_tp_is_released_sampled_and_graded_by_the_makefile(sixth_tp_course):
    done = make(sixth_tp_course, "sample-class", "demo")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"tpdl release {TP}" in done.stdout  # the Makefile found the TP by its source folder
    release = sixth_tp_course / "release" / TP / f"{TP}.ipynb"
    assert "raise NotImplementedError" in release.read_text() and "2.0 * array" not in release.read_text()
    demo = sixth_tp_course / "reports" / TP / "sample_class"
    outcome = json.loads((demo / "class.json").read_text())
    scores = {sid: (s["score"], s["max_score"]) for sid, s in outcome["students"].items()}
    assert scores["reference"] == (2, 2) and scores["untouched"] == (0, 2), scores
    assert (demo / "grades.csv").is_file() and (demo / "feedback" / "reference" / TP / f"{TP}.html").is_file()
    for class_folder in ("autograded", "feedback"):  # the sample class is not the class
        wrote = (sixth_tp_course / class_folder).exists()
        assert not wrote, f"the demo wrote into the class's {class_folder}/"
    assert not (sixth_tp_course / "reports" / TP / "grades.csv").exists()


@pytest.mark.slow
def test_the_kits_tests_of_every_tp_run_on_the_new_one(sixth_tp_course):
    if not (sixth_tp_course / "sample_class" / "reference" / TP).is_dir():
        assert make(sixth_tp_course, "sample-class").returncode == 0
    tests = paths.course_dir() / "tests"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-n",
            "0",
            "--rootdir",
            str(paths.course_dir()),
            str(tests / "test_course.py"),
            str(tests / "authoring" / "test_catalogue.py"),
            "-k",
            TP,
        ],
        env=environment(sixth_tp_course),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    summary = done.stdout.strip().splitlines()[-1]
    # the course's three checks per TP, the catalogue's five entries, its whole-solution count and
    # the reference graded by every grader
    assert "10 passed" in summary, summary
