"""A TP's exercises as its students see them: the release notebook's ``## `` headings, in order,
each with the grade cells under it.

Feedback lists checks under these headings (``Exercise 3 — adam_step``, ``Exercice 3 — adam_step`` in
the French edition), in notebook order, with each exercise's points; a grade cell under no heading is
listed last, by its name.
"""

import re
from dataclasses import dataclass, field

from tpdl.core import paths

HEADING = re.compile(r"^##\s+(?P<text>[^#].*?)\s*$", re.M)
NUMBERED = re.compile(r"^(?P<number>(?:Exercise|Exercice)\s+\d+)\s*[—–-]\s*(?P<title>.+)$")
POINTS = re.compile(r"\s*\((?P<points>[\d.,]+) points?(?:, graded by hand|, noté à la main)?\)$")


@dataclass
class Exercise:
    number: str  # "Exercise 3", or "" for a section without a number ("The saved model")
    title: str  # the heading without its number and points, as the student reads it
    cells: list[str] = field(default_factory=list)  # grade_ids of its grade cells, in order
    points: float = 0.0  # the points of those cells (nbgrader's metadata)

    @property
    def heading(self) -> str:
        return f"{self.number} — {self.title}" if self.number else self.title


def _split(text: str) -> tuple[str, str]:
    text = POINTS.sub("", text).strip()
    numbered = NUMBERED.match(text)
    return (numbered["number"], numbered["title"].strip()) if numbered else ("", text)


def of_notebook(notebook) -> list[Exercise]:
    """The exercises of an nbformat notebook: headings that hold at least one grade cell."""
    exercises: list[Exercise] = []
    current: Exercise | None = None
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for match in HEADING.finditer(cell.source):
                current = Exercise(*_split(match["text"]))
                exercises.append(current)
        nbgrader = cell.metadata.get("nbgrader", {})
        if nbgrader.get("grade") and nbgrader.get("grade_id"):
            if current is None:
                current = Exercise("", nbgrader["grade_id"])
                exercises.append(current)
            current.cells.append(nbgrader["grade_id"])
            current.points += float(nbgrader.get("points", 0))
    return [e for e in exercises if e.cells]


def of_assignment(assignment: str, language: str | None = None) -> list[Exercise]:
    """The exercises of ``assignment``'s release notebook (none if it is not built), with the headings of
    its TP's edition in ``language`` where that edition is released: feedback speaks one language,
    whichever edition was handed in (every edition has the same grade cells under the same exercises)."""
    import nbformat

    if language is not None:
        speaking = paths.edition(paths.tp_of(assignment), language)
        if (paths.release(speaking) / f"{speaking}.ipynb").is_file():
            assignment = speaking
    path = paths.release(assignment) / f"{assignment}.ipynb"
    return of_notebook(nbformat.read(path, as_version=4)) if path.is_file() else []
