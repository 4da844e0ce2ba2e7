"""Do broken submissions get a clear message, without any student being lost?"""

import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from tpdl import grading
from tpdl.classroom import run as classroom
from tpdl.core import paths


@pytest.fixture(scope="module")
def faulty(built_once):
    """A class of faulty submissions, made once per test run."""
    return built_once("faulty-submissions", faulty_class)


def faulty_class(root: Path) -> Path:
    reference = paths.sample_submission("reference", "tp1")
    shutil.copytree(reference, root / "reference" / "tp1")
    corrupt = root / "corrupt-json" / "tp1"
    corrupt.mkdir(parents=True)
    (corrupt / "tp1.ipynb").write_text('{"cells": [ {"cell_type": "code", "source": "x = 1"')  # cut short
    (root / "missing-notebook" / "tp1").mkdir(parents=True)
    renamed = root / "renamed-notebook" / "tp1"
    renamed.mkdir(parents=True)
    shutil.copyfile(reference / "tp1.ipynb", renamed / "tp1 (1).ipynb")
    linked = root / "symlink-to-graders" / "tp1"
    shutil.copytree(paths.sample_submission("untouched", "tp1"), linked)
    (linked / "answers.py").symlink_to(paths.graders("tp1") / "test_preprocess.py")
    notebook = nbformat.read(linked / "tp1.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(READS_THE_LINK))
    nbformat.write(notebook, linked / "tp1.ipynb")
    return root


# Earns the shapes check only if the link was followed and the grader's text could be read.
READS_THE_LINK = """
try:
    SOURCE = open("answers.py").read()
except OSError:
    SOURCE = ""
def preprocess(images, labels):
    width = 784 if "RNG" in SOURCE else 1
    return np.zeros((len(images), width), np.float32), np.zeros((len(labels), 10), np.float32)
"""


@pytest.fixture(scope="module")
def graded(faulty, built_once, request, new_course):
    """The faulty class graded once on TP1's pilot checks (these faults concern the notebook)."""
    return built_once(
        "faulty-graded", lambda folder: grade(faulty, folder, request.getfixturevalue("zygote"), new_course)
    )


def grade(faulty: Path, folder: Path, zygote, new_course) -> dict:
    course = new_course(folder / "course")
    results = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPDL_COURSE_DIR", str(course))
        for student in sorted(faulty.iterdir()):
            notebook = classroom.notebook_name("tp1", student / "tp1")
            results[student.name], _ = grading.grade_submission(
                zygote, "tp1", student / "tp1", student.name, notebook
            )
    return results


def messages(result):
    return {c.message for c in result.checks}


@pytest.mark.slow  # a class run
def test_a_corrupt_notebook_gets_zero_with_a_clear_message(graded):
    result = graded["corrupt-json"]
    assert result.score == 0
    assert all(m.startswith("Your notebook could not be read") for m in messages(result))


@pytest.mark.slow  # a class run
def test_a_missing_notebook_says_it_is_missing(graded):
    assert messages(graded["missing-notebook"]) == {
        "tp1.ipynb is not in your submission (was it renamed or deleted?)."
    }


@pytest.mark.slow  # a class run
def test_a_renamed_notebook_is_still_graded(graded):
    assert graded["renamed-notebook"].score == graded["reference"].score == graded["reference"].max_score


def test_a_missing_deliverable_is_named(zygote, tmp_path):
    folder = tmp_path / "tp1"
    shutil.copytree(paths.sample_submission("reference", "tp1"), folder)
    for name in ("mnist_dense.keras", "app.py"):
        (folder / name).unlink()
    submission = grading.Submission(zygote, folder, "tp1.ipynb")
    with pytest.raises(grading.StudentCodeError, match="mnist_dense.keras is not in your submission"):
        submission.saved_model("mnist_dense.keras")
    with pytest.raises(grading.StudentCodeError, match="app.py is not in your submission"):
        submission.read_file("app.py")


def test_a_handed_in_model_outlives_the_models_worker(zygote, tmp_path):
    """A model another check builds replaces the models worker; the handed-in one is loaded again."""
    folder = tmp_path / "tp1"
    shutil.copytree(paths.sample_submission("reference", "tp1"), folder)
    submission = grading.Submission(zygote, folder, "tp1.ipynb")
    model = submission.saved_model("mnist_dense.keras")
    x = np.random.default_rng(0).uniform(size=(8, 784)).astype(np.float32)
    before = model.predict(x)
    submission.session.renew_models()
    np.testing.assert_array_equal(model.predict(x), before)
    model.set_weights(model.get_weights())
    submission.session.renew_models()
    with pytest.raises(RuntimeError, match="the judge's weights were lost"):
        model.predict(x)


@pytest.mark.slow  # a class run
def test_a_symlink_in_a_submission_is_not_followed(course, faulty):
    outcome = classroom.grade_class("tp1", faulty, students=["symlink-to-graders", "nobody"], progress=False)
    assert outcome.students["symlink-to-graders"]["score"] == 0
    assert outcome.students["nobody"]["missing"] == "no submission found"


# Chains of processes that fork and leave at once, in C (a new pid every few microseconds: a sweep
# of /proc finds pids already gone, and stops).
FORK_CHAIN = r'''
import os, subprocess
source = os.path.join(os.environ["TMPDIR"], "chain.c")
open(source, "w").write("""
#include <unistd.h>
int main(void) {
    setsid();
    for (int i = 0; i < 4; i++) if (fork() == 0) for (;;) if (fork() > 0) _exit(0);
    return 0;
}
""")
subprocess.run(["gcc", "-O2", "-o", source[:-2], source], check=True)
subprocess.run([source[:-2]], check=True)
'''


def processes_of(uids: set[int]) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/status") as status:
                uid = next(int(line.split()[1]) for line in status if line.startswith("Uid:"))
        except (OSError, StopIteration, ValueError):
            continue
        if uid in uids:
            found.append(int(entry))
    return found


@pytest.mark.skipif(os.geteuid() != 0, reason="workers run as users of their own only when the judge is root")
@pytest.mark.skipif(shutil.which("gcc") is None, reason="the chain of forks is compiled with gcc")
def test_a_chain_of_forks_left_behind_is_gone_when_the_submission_is_done(zygote, tmp_path):
    folder = tmp_path / "tp1"
    shutil.copytree(paths.sample_submission("untouched", "tp1"), folder)
    notebook = nbformat.read(folder / "tp1.ipynb", as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(FORK_CHAIN))
    nbformat.write(notebook, folder / "tp1.ipynb")
    submission = grading.Submission(zygote, folder, "tp1.ipynb")
    with pytest.raises(grading.StudentCodeError):
        submission.call("preprocess", np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8))
    uids = {submission.session.notebook_worker().uid}
    assert processes_of(uids), "the chain should be running while the submission is graded"
    submission.close()
    assert not processes_of(uids), "a process of the student's outlived the end of their grading"
