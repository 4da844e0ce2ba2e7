"""Is the course consistent: style, sample class in step with the sources, points in step with the notebooks?"""

import subprocess
import sys

import nbformat
import pytest

from tpdl import grading, notebooks, paths, samples


def test_ruff_finds_nothing():
    for command in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=paths.course_dir(), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr


def code_cells(notebook) -> list[str]:
    return [c.source.strip() for c in notebook.cells if c.cell_type == "code"]


@pytest.mark.parametrize("assignment", paths.assignments())
def test_the_sample_reference_and_untouched_students_follow_the_source(released, assignment):
    reference = nbformat.read(
        paths.sample_submission("reference", assignment) / f"{assignment}.ipynb", as_version=4
    )
    untouched = nbformat.read(
        paths.sample_submission("untouched", assignment) / f"{assignment}.ipynb", as_version=4
    )
    release = nbformat.read(paths.release(assignment) / f"{assignment}.ipynb", as_version=4)
    hint = "run `make sample-class` after editing the source"
    assert code_cells(reference) == code_cells(samples.reference_notebook(assignment)), hint
    assert code_cells(untouched) == code_cells(release), hint
    # nbgrader's metadata too (Validate compares each test cell with its checksum)
    expected = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in release.cells
                if "grade_id" in c.metadata.get("nbgrader", {})}  # fmt: skip
    for student, notebook in (("reference", reference), ("untouched", untouched)):
        found = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in notebook.cells
                 if "grade_id" in c.metadata.get("nbgrader", {})}  # fmt: skip
        assert found == expected, f"{student}: nbgrader metadata differs from the release's; {hint}"
    # and the deliverable templates (app.py, Dockerfile...): the source's solutions, the release's stubs
    for student, origin in (
        ("reference", paths.source(assignment)),
        ("untouched", paths.release(assignment)),
    ):
        for template in notebooks.templates(origin):
            text = template.read_text()
            want = samples.MARKER.sub("", text) if student == "reference" else text
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
