"""Do releases hold no solution, and does nbgrader's own feedback hide the hidden tests?"""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tpdl.authoring import notebooks
from tpdl.core import paths


@pytest.mark.parametrize("assignment", paths.assignments())
def test_the_release_holds_no_solution_material(released, assignment):
    assert notebooks.find_leaks(assignment) == []
    assert not list(paths.release(assignment).rglob("*.nb.py")), "the text source reached the release"


@pytest.mark.parametrize("assignment", paths.assignments())
def test_every_solution_cell_of_the_release_is_a_stub(released, assignment):
    notebook = nbformat.read(paths.release(assignment) / f"{assignment}.ipynb", as_version=4)
    cells = [
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    ]
    assert cells
    for cell in cells:
        assert "raise NotImplementedError()" in cell.source


@pytest.fixture
def release_copy(course):
    """The scratch course's release as a copy that a test may spoil."""
    real = Path(os.readlink(course / "release"))
    (course / "release").unlink()
    shutil.copytree(real, course / "release")
    return course / "release"


def test_planted_leaks_are_found(release_copy):
    notebook_path = release_copy / "tp1" / "tp1.ipynb"
    notebook = nbformat.read(notebook_path, as_version=4)
    stub = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "preprocess")
    stub.source += '\n    x = images.reshape(len(images), -1).astype("float32") / 255.0  # (N, 784)\n'
    nbformat.write(notebook, notebook_path)
    (release_copy / "tp1" / "notes.txt").write_text("### BEGIN SOLUTION\nsecret\n### END SOLUTION\n")
    (release_copy / "tp1" / "tp1.nb.py").write_text("# copy of the source\n")
    leaks = "\n".join(notebooks.find_leaks("tp1"))
    assert "solution line" in leaks and "tp1.ipynb" in leaks
    assert "notes.txt: marker 'BEGIN SOLUTION'" in leaks
    assert "the notebook's text source" in leaks


def test_templates_lose_their_solution_regions():
    python = "def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION\n"
    assert (
        notebooks.stub_text(python, python=True)
        == "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    )
    docker = "FROM x\n# BEGIN SOLUTION\nUSER app\n# END SOLUTION\n"
    assert notebooks.stub_text(docker, python=False) == "FROM x\n# YOUR CODE HERE\n"
    for broken in ("# BEGIN SOLUTION\n", "# END SOLUTION\n", "# BEGIN SOLUTION\n# BEGIN SOLUTION\n"):
        with pytest.raises(ValueError):
            notebooks.stub_text(broken, python=True)


def test_the_generated_notebook_has_no_outputs_and_keeps_nbgrader_metadata(released):
    notebook = nbformat.read(paths.source("tp1") / "tp1.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
    grade_ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells}
    assert {"preprocess", "preprocess_tests", "build_dense_model", "build_dense_model_tests"} <= grade_ids


# An assignment with no graders: nbgrader alone grades it.
FAKE_SOURCE = Path(__file__).with_name("fake.nb.py")


@pytest.mark.slow  # runs a whole notebook
def test_nbgrader_autograde_grades_an_assignment_without_graders_the_nbgrader_way_hiding_hidden_tests(course):
    (course / "source").unlink()
    (course / "source" / "fake").mkdir(parents=True)
    shutil.copy(FAKE_SOURCE, course / "source" / "fake" / "fake.nb.py")
    env = {
        **os.environ,
        "TPDL_COURSE_DIR": str(course),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    (course / "gradebook.db").unlink()
    notebooks.release("fake")
    submitted = course / "submitted" / "s1" / "fake"
    submitted.mkdir(parents=True)
    notebook = nbformat.read(course / "release" / "fake" / "fake.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer":
            cell.source = "def answer():\n    return 42\n"
    nbformat.write(notebook, submitted / "fake.ipynb")
    # No graders: nbgrader's own pipeline grades it (its cells run in the kit's sandbox), and the
    # course's settings hide hidden tests and TensorFlow's stderr lines.
    for step in (["autograde", "fake"], ["generate_feedback", "fake"]):
        done = subprocess.run(
            [sys.executable, "-m", "nbgrader", *step, "--force"],
            cwd=course,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    feedback = (course / "feedback" / "s1" / "fake" / "fake.html").read_text()
    assert "AssertionError" in feedback, "the failing hidden test should still show that it failed"
    assert "SECRET_EXPECTED_VALUE" not in feedback, "the hidden test's code reached the feedback"
    assert "most recent call last" not in feedback and "-" * 40 not in feedback, (
        "a traceback reached the feedback"
    )
    export = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", "--to", str(course / "grades.csv")],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
    )
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader((course / "grades.csv").open()))
    assert rows[0]["raw_score"] == "1.0", (
        "the visible test cell (which wrote TensorFlow-like stderr) lost its point"
    )
