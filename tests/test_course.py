"""Is the course consistent: style, the sample class in step with the sources, points with the notebooks?"""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tpdl import grading
from tpdl.authoring import notebooks, samples
from tpdl.core import manifest, paths

PROJECT = Path(__file__).resolve().parents[1]  # the kit's repository, where pyproject.toml is


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_finds_nothing(command):
    """Does ruff, as pyproject.toml configures it, find nothing to say of the whole project?"""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", str(PROJECT)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def code_cells(notebook) -> list[str]:
    return [c.source.strip() for c in notebook.cells if c.cell_type == "code"]


@pytest.mark.parametrize("assignment", paths.editions())
def test_the_sample_reference_and_untouched_students_follow_the_source(released, assignment):
    """Each sample student of each edition (``samples.students``: a TP's reference and untouched
    students, its French edition's reference) hands in what the source and the release make."""
    release = nbformat.read(paths.release(assignment) / f"{assignment}.ipynb", as_version=4)
    hint = "run `make sample-class` after editing the source"
    expected = {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]
        for c in release.cells
        if "grade_id" in c.metadata.get("nbgrader", {})
    }
    for student in samples.students(assignment):
        solved = student == samples.reference_student(assignment)
        notebook = nbformat.read(
            paths.sample_submission(student, assignment) / f"{assignment}.ipynb", as_version=4
        )
        wanted = samples.reference_notebook(assignment) if solved else release
        assert code_cells(notebook) == code_cells(wanted), f"{student}: {hint}"
        # nbgrader's metadata too (Validate compares each test cell with its checksum)
        found = {
            c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]
            for c in notebook.cells
            if "grade_id" in c.metadata.get("nbgrader", {})
        }
        assert found == expected, f"{student}: nbgrader metadata differs from the release's; {hint}"
        # and the deliverable templates (app.py, Dockerfile...): the source's solutions, the release's stubs
        origin = paths.source(assignment) if solved else paths.release(assignment)
        for template in notebooks.templates(origin):
            text = template.read_text()
            want = samples.MARKER.sub("", text) if solved else text
            copy = paths.sample_submission(student, assignment) / template.relative_to(origin)
            assert copy.is_file() and copy.read_text() == want, f"{student}: {copy.name} differs; {hint}"


@pytest.mark.parametrize("assignment", paths.assignments())
def test_grader_points_add_up_to_the_notebook_grade_cells(zygote, assignment):
    result, _ = grading.grade_submission(zygote, assignment, paths.sample_submission("untouched", assignment))
    assert result.checks and all(c.max_points > 0 and c.cell for c in result.checks), (
        "every check needs points and a cell"
    )
    by_cell: dict[str, float] = {}
    for check in result.checks:
        by_cell[check.cell] = by_cell.get(check.cell, 0.0) + check.max_points
    notebook = nbformat.read(paths.release(assignment) / f"{assignment}.ipynb", as_version=4)
    autograded_cells = {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
    }
    assert by_cell == autograded_cells
    # the manifest states every grade cell's points, the hand-graded ones too
    graded = {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    assert manifest.load(assignment).points == graded, "graders/<tp>/manifest.toml and the notebook disagree"


@pytest.mark.parametrize("assignment", paths.assignments())
def test_the_manifest_matches_the_notebook_and_the_sample_class(assignment):
    stated = manifest.load(assignment)
    source = notebooks.text_source(assignment).read_text()
    for cell, points in stated.points.items():
        if not cell.endswith("_tests"):
            continue
        exercise = cell.removesuffix("_tests")
        heading = re.search(rf"^# ##.*`{exercise}`.*\((\d+) points?\)", source, re.M)
        assert heading is None or float(heading.group(1)) == points, f"the notebook's heading for {exercise}"
    for name, value in stated.thresholds.items():
        if name == "course_accuracy":  # the course's published result, as the notebook states it
            assert f"{100 * value:.2f} %" in source, f"the notebook should state {100 * value:.2f} %"
    reference = paths.sample_submission("reference", assignment)
    missing = [name for name in stated.deliverables if not (reference / name).exists()]
    assert not missing, f"the reference student lacks the deliverables {missing}"
    assert set(stated.run_outputs) <= {p.name for p in reference.iterdir()}, (
        "a run output the reference lacks"
    )
