"""The sample class's reference and untouched submissions, derived from the source and the release.

``reference`` is the release with each solution cell holding the source's solution (markers
removed); ``untouched`` is the release as a student receives it. The other sample students
(``mistakes``, ``attacker``) are written by hand, like real submissions.
"""

import copy
import re

import nbformat

from tpdl import paths

MARKER = re.compile(r"^[ \t]*#+ (BEGIN|END) SOLUTION[^\n]*\n", flags=re.M)


def _by_grade_id(notebook) -> dict:
    return {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in notebook.cells
        if "grade_id" in c.metadata.get("nbgrader", {})
    }


def reference_notebook(assignment: str):
    """The release of ``assignment`` with the source's solutions filled in."""
    source = nbformat.read(paths.source(assignment) / f"{assignment}.ipynb", as_version=4)
    release = nbformat.read(paths.release(assignment) / f"{assignment}.ipynb", as_version=4)
    solved = copy.deepcopy(release)
    solutions = _by_grade_id(source)
    for grade_id, cell in _by_grade_id(solved).items():
        if cell.metadata["nbgrader"].get("solution"):
            cell.source = MARKER.sub("", solutions[grade_id].source)
    return solved


def write(assignment: str) -> None:
    """Rewrite ``sample_class/{reference,untouched}/<assignment>/`` from the current source and release."""
    release = paths.release(assignment) / f"{assignment}.ipynb"
    for student, notebook in (
        ("reference", reference_notebook(assignment)),
        ("untouched", nbformat.read(release, as_version=4)),
    ):
        folder = paths.sample_submission(student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, folder / f"{assignment}.ipynb")
