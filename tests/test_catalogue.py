"""Do the graders give full marks to correct variants and take points from every known wrong answer?"""

import pytest

from tpdl import catalogue, grading, paths

CATALOGUE = paths.course_dir() / "tests" / "catalogue"
ENTRIES = [
    pytest.param(assignment.name, entry, id=f"{assignment.name}/{entry.id}")
    for assignment in sorted(CATALOGUE.iterdir())
    for entry in catalogue.entries(assignment)
]


def grade_cells(assignment: str) -> set[str]:
    import nbformat

    notebook = nbformat.read(
        paths.sample_submission("reference", assignment) / f"{assignment}.ipynb", as_version=4
    )
    return {
        c.metadata["nbgrader"]["grade_id"]
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def grade(zygote, tmp_path, assignment, entry):
    """Grade the variant on the checks of the cells it names, of the cell it changes (``<grade_id>_tests``), or all."""
    submission = catalogue.build(
        entry, paths.sample_submission("reference", assignment), tmp_path / assignment, f"{assignment}.ipynb"
    )
    cell = f"{entry.target}_tests"
    cells = set(entry.cells) or ({cell} if cell in grade_cells(assignment) else None)
    result, _ = grading.grade_submission(zygote, assignment, submission, cells=cells)
    assert result.checks, "no check ran"
    return result


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "entry"), ENTRIES)
def test_variant_is_graded_as_catalogued(zygote, tmp_path, assignment, entry):
    result = grade(zygote, tmp_path, assignment, entry)
    checks = {check.name: check for check in result.checks}
    if entry.expect == "pass":
        failed = {name: c.message for name, c in checks.items() if not c.passed and c.counted}
        assert not failed, f"a correct variant lost points: {failed}"
        return
    unknown = set(entry.loses) - set(checks)
    assert not unknown, f"the entry names checks that do not exist: {unknown}"
    uncounted = [checks[name].message for name in entry.loses if not checks[name].counted]
    if uncounted:  # a check this machine cannot run (no Docker engine, no MNIST training set)
        pytest.skip(uncounted[0])
    kept = [name for name in entry.loses if checks[name].passed]
    assert not kept, f"the wrong answer kept the points of {kept}"
    assert result.score < result.max_score


def test_catalogue_covers_every_graded_function_both_ways():
    """Has every solution cell of every assignment a failing and a passing variant?"""
    import nbformat

    for assignment in paths.assignments():
        notebook = nbformat.read(
            paths.sample_submission("reference", assignment) / f"{assignment}.ipynb", as_version=4
        )
        solution_cells = {
            c.metadata["nbgrader"]["grade_id"]
            for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
        }
        entries = catalogue.entries(CATALOGUE / assignment)
        for grade_id in solution_cells:
            kinds = {e.expect for e in entries if e.target == grade_id}
            assert kinds >= {"pass", "fail"}, (
                f"{assignment}/{grade_id} lacks a {'pass' if 'fail' in kinds else 'fail'} variant"
            )
    passing = [e for a in paths.assignments() for e in catalogue.entries(CATALOGUE / a) if e.expect == "pass"]
    assert len(passing) >= 3
