"""Each TP's manifest, ``graders/<tp>/manifest.toml``: what the TP is made of, in one place.

* ``[points]``: the points of each grade cell (the notebook's nbgrader metadata and the graders'
  markers are checked against them by the kit's tests);
* ``[thresholds]``: what the graders require (the course's published results, calibrated limits);
* ``[samples]``: how the graders sample what they measure at grading time (how many items, at which
  looks, the margin of a stated false accept), the numbers the notebooks state (``tests/test_one_story.py``);
* ``[files]``: ``deliverables`` (what the student hands in) and ``run_outputs`` (what a full run of
  the notebook writes, which ``make sample-runs`` clears and rewrites);
* ``[handin]``: what ``tpdl check`` tells a student before the deadline (published with the
  release as ``handin.json``): ``thresholds`` (the names of the thresholds the notebook states)
  and ``models`` (each saved model and the data it is estimated on: ``mnist``, ``cifar10``,
  ``phantoms``, ``volumes``, or ``load`` to load it only);
* ``[tests]``: ``sample_run`` (the reference is rerun by ``make sample-runs``) and ``pilot`` (the
  quick grader modules the kit's tests of the grading machinery use, when grading the whole TP
  would take too long).

It sits with the graders: students never see it.
"""

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from tpdl.core import paths

FILE = "manifest.toml"


@dataclass(frozen=True)
class Manifest:
    assignment: str
    points: dict[str, float]
    thresholds: dict[str, float]
    deliverables: tuple[str, ...]
    run_outputs: tuple[str, ...]
    sample_run: bool
    pilot: tuple[str, ...]
    public_thresholds: tuple[str, ...] = ()
    models: dict[str, str] = field(default_factory=dict)  # saved model -> how tpdl check estimates it
    samples: dict = field(default_factory=dict)  # name -> a number or a list of numbers (looks)

    @property
    def max_score(self) -> float:
        return sum(self.points.values())


def read(path: Path) -> Manifest:
    """The manifest in ``path``; a missing section means nothing of that kind."""
    with open(path, "rb") as handle:
        content = tomllib.load(handle)
    files, tests, handin = content.get("files", {}), content.get("tests", {}), content.get("handin", {})
    return Manifest(
        assignment=path.parent.name,
        points={name: float(points) for name, points in content.get("points", {}).items()},
        thresholds={name: float(value) for name, value in content.get("thresholds", {}).items()},
        deliverables=tuple(files.get("deliverables", ())),
        run_outputs=tuple(files.get("run_outputs", ())),
        sample_run=bool(tests.get("sample_run", False)),
        pilot=tuple(tests.get("pilot", ())),
        public_thresholds=tuple(handin.get("thresholds", ())),
        models=dict(handin.get("models", {})),
        samples=dict(content.get("samples", {})),
    )


def load(assignment: str) -> Manifest:
    """The manifest of ``assignment`` in the current course. An edition of a TP in another language
    (``tp1-fr``) has its TP's, the notebook it hands in named after the edition (``tp1-fr.ipynb``)."""
    found = read(paths.graders(assignment) / FILE)
    tp = paths.tp_of(assignment)
    if tp == assignment:
        return found
    renamed = tuple(f"{assignment}.ipynb" if name == f"{tp}.ipynb" else name for name in found.deliverables)
    return replace(found, assignment=assignment, deliverables=renamed)


def beside(grader_file: str) -> Manifest:
    """The manifest of the TP whose grader is ``grader_file`` (a grader's ``__file__``)."""
    return read(Path(grader_file).resolve().parent / FILE)
