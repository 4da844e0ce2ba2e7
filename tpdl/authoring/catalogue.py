"""Catalogues of known submissions that prove the graders: wrong answers, correct variants, attacks.

A **variant** file ``<target>--<pass|fail>--<why>.py`` holds the new source of one solution cell
(``target`` is its nbgrader ``grade_id``) or of one deliverable file (``target`` is its file name,
``app.py`` say). Its docstring says what it is and, for ``fail``, which checks it must lose::

    \"\"\"Divides by 256: the largest pixel does not map to 1.

    loses: preprocess_scales_pixels
    \"\"\"
    def preprocess(images, labels):
        ...

The variant is applied to the reference submission: ``pass`` must keep full marks, ``fail`` must
lose every check it names, and is graded on those checks alone (``cells:`` may name the grade cells
whose checks a variant concerns, to grade only those, and ``checks:`` those a correct variant is graded
on, where a grade cell holds others that never read what it changes). A deliverable that is not text
(an MLflow store, ``mlflow.db``) is varied by a script instead: with ``apply: edit`` in its
docstring, the file defines ``edit(folder)``, which the kit's tests call on a copy of the reference
submission.

A **whole solution** ``notebook--pass--<why>.py`` is a student's every answer, written from the
release alone: after its docstring, sections ``# %% <target>`` each hold the new source of one
solution cell (its ``grade_id``) or of one deliverable file (``app.py``). It is graded on the
checks of every cell it answers (on every check when it rewrites a deliverable), with the
reference's trained models, and must keep full marks::

    \"\"\"Loops and plain Python, written from the release.\"\"\"
    # %% preprocess
    def preprocess(images, labels):
        ...
    # %% app.py
    ...

An **attack** file ``<name>.py`` (in ``tests/attacks/<tp>/``) is graded in one class with the
other attacks of its TP and honest students. Its docstring says what it is and how it works:

* ``kind: cell`` (the default): the file is one code cell added to the ``base`` submission
  (``place: first`` puts it before every other cell);
* ``kind: edit``: the file defines ``edit(folder)``, which changes a copy of the ``base`` submission
  (files a student could hand in: bytecode, links, forged stores, a lookup model...);
* ``kind: class``: the file defines ``plant(submissions, assignment)``, which adds whole student
  folders to the class (odd ids, links) and returns their names, and ``expect(outcome)``, which
  asserts what grading must have made of them;
* ``kind: rerun``: the file defines ``scenario(grade)``, given a function that grades a scratch
  class and returns its outcome: a result must never be reused where something it depended on
  changed.

An attack that could harm whoever is graded next in the same sandbox (it leaves processes or files behind,
kills, floods) says ``victim: next``: an honest student is graded right after it; the others share the honest
student graded last. ``base:`` is ``untouched`` (the default: the attack must earn nothing) or ``reference``
(the attack replaces part of a correct submission: it must lose the checks ``loses:`` names). ``proof:`` is a
text that grading must leave in the attacker's log, results or feedback (or, for a class attack, in the
class's outputs): an attack that never ran cannot pass. ``graders:`` names TP1's grader modules the attack
needs beyond the quick pilot ones. ``limit:`` (``memory``, ``scratch`` or ``files``) names the limit of its
workers that the attack runs into: the figure the kernel kept (the peak memory of the worker's control group,
the bytes or files written into its tmpfs), read from the attacker's grading log, must show the limit reached
and held.
"""

import ast
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tpdl.core import paths


@dataclass(frozen=True)
class Entry:
    path: Path
    target: str
    expect: str  # "pass", "fail" or "attack"
    why: str
    code: str
    loses: tuple[str, ...] = field(default_factory=tuple)
    place: str = "last"
    apply: str = "replace"  # or "edit": the file's edit(folder) changes the submission
    cells: tuple[str, ...] = field(default_factory=tuple)  # the grade cells whose checks it concerns
    checks: tuple[str, ...] = field(default_factory=tuple)  # the checks it concerns, by name
    kind: str = "cell"  # attacks: cell, edit, class or rerun
    base: str = "untouched"  # attacks: the sample submission it starts from
    proof: str = ""  # attacks: what grading must leave behind to show that the attack ran
    graders: tuple[str, ...] = field(default_factory=tuple)  # attacks on TP1: grader modules needed
    victim: str = "last"  # attacks: "next" when an honest student must be graded right after it
    limit: str = ""  # attacks: the worker's limit it runs into (memory, scratch, files)

    @property
    def id(self) -> str:
        return self.path.stem


WHOLE = "notebook"  # the target of a whole solution
SECTION = "# %% "


def sections(entry: "Entry") -> dict[str, str]:
    """A whole solution's sections: target (grade_id or file name) -> its new source."""
    found: dict[str, list[str]] = {}
    current = None
    for line in entry.code.splitlines(keepends=True):
        if line.startswith(SECTION):
            current = line[len(SECTION) :].strip()
            if current in found:
                raise ValueError(f"{entry.path.name}: the section {current!r} appears twice")
            found[current] = []
        elif current is not None:
            found[current].append(line)
    if not found:
        raise ValueError(f"{entry.path.name}: a whole solution has sections '{SECTION}<grade_id>'")
    return {target: "".join(lines).strip("\n") + "\n" for target, lines in found.items()}


def _docstring_fields(text: str) -> tuple[str, dict[str, str]]:
    doc = ast.get_docstring(ast.parse(text)) or ""
    summary = doc.strip().splitlines()[0] if doc.strip() else ""
    fields = {}
    for line in doc.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in (
            "loses",
            "place",
            "apply",
            "cells",
            "checks",
            "kind",
            "base",
            "proof",
            "graders",
            "victim",
            "limit",
        ):
            fields[key.strip()] = value.strip()
    return summary, fields


def load(path: Path) -> Entry:
    """The catalogue entry in ``path`` (its kind read from its name and docstring)."""
    text = path.read_text()
    summary, fields = _docstring_fields(text)
    parts = path.stem.split("--")
    if len(parts) == 3 and parts[1] in ("pass", "fail"):
        target, expect, why = parts
        loses = tuple(n.strip() for n in fields.get("loses", "").split(",") if n.strip())
        if target == WHOLE and expect != "pass":
            raise ValueError(f"{path.name}: a whole solution is a correct one ('{WHOLE}--pass--...')")
        if expect == "fail" and not loses:
            raise ValueError(f"{path.name}: a failing variant must name the checks it loses ('loses: ...')")
        apply = fields.get("apply", "replace")
        if apply not in ("replace", "edit"):
            raise ValueError(f"{path.name}: 'apply:' is 'replace' or 'edit', not {apply!r}")
        cells, checks = (
            tuple(n.strip() for n in fields.get(name, "").split(",") if n.strip())
            for name in ("cells", "checks")
        )
        if checks and expect == "fail":
            raise ValueError(
                f"{path.name}: 'checks:' names the checks a correct variant is graded on; a failing one is "
                "graded on those of 'loses:'"
            )
        return Entry(
            path, target, expect, summary or why, text, loses, apply=apply, cells=cells, checks=checks
        )
    kind, base = fields.get("kind", "cell"), fields.get("base", "untouched")
    if kind not in ("cell", "edit", "class", "rerun") or base not in ("untouched", "reference"):
        raise ValueError(
            f"{path.name}: 'kind:' is cell, edit, class or rerun; 'base:' untouched or reference"
        )
    if not fields.get("proof"):
        raise ValueError(f"{path.name}: an attack must say what proves it ran ('proof: ...')")
    loses = tuple(n.strip() for n in fields.get("loses", "").split(",") if n.strip())
    if base == "reference" and kind in ("cell", "edit") and not loses:
        raise ValueError(
            f"{path.name}: an attack on the reference must name the checks it loses ('loses: ...')"
        )
    graders = tuple(n.strip() for n in fields.get("graders", "").split(",") if n.strip())
    victim = fields.get("victim", "last")
    if victim not in ("next", "last"):
        raise ValueError(f"{path.name}: 'victim:' is next or last, not {victim!r}")
    limit = fields.get("limit", "")
    if limit not in ("", "memory", "scratch", "files"):
        raise ValueError(f"{path.name}: 'limit:' is memory, scratch or files, not {limit!r}")
    return Entry(
        path,
        "",
        "attack",
        summary or path.stem,
        text,
        loses=loses,
        place=fields.get("place", "last"),
        kind=kind,
        base=base,
        proof=fields["proof"],
        graders=graders,
        victim=victim,
        limit=limit,
    )


def entries(folder: Path) -> list[Entry]:
    """The entries of a catalogue folder (a file whose name starts with ``_`` is a helper they share)."""
    return (
        [load(p) for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")]
        if folder.is_dir()
        else []
    )


class NotReady(Exception):
    """An entry that cannot be tried yet; the message says what to do first."""


def reference_for(file: Path) -> tuple[str, Path]:
    """``(assignment, the sample class's reference submission)`` on which the entry ``file``
    (``tests/catalogue/<assignment>/<entry>.py``) is tried; NotReady where either is missing."""
    assignment = file.resolve().parent.name
    if not file.is_file():
        raise NotReady(f"{file}: no such catalogue entry")
    if not paths.source().is_dir() or assignment not in paths.assignments():
        raise NotReady(
            f"{file}: a catalogue entry lives in tests/catalogue/<assignment>/, and {assignment!r} "
            f"is not an assignment of the course at {paths.course_dir()}"
        )
    reference = paths.sample_submission("reference", assignment)
    if not (reference / f"{assignment}.ipynb").is_file():
        raise NotReady(
            f"{file}: the sample class has no reference submission of {assignment} yet "
            f"({reference}); write it with `tpdl samples {assignment}`"
        )
    return assignment, reference


def _cell(notebook, grade_id: str):
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def namespace(entry: Entry) -> dict:
    """The names an entry's file defines (``edit``, ``plant``, ``expect``, ``scenario``...)."""
    names: dict = {"__name__": f"catalogue_{entry.id.replace('-', '_')}"}
    exec(compile(entry.code, str(entry.path), "exec"), names)  # noqa: S102 - the kit's own catalogue
    return names


def build(entry: Entry, base: Path, target: Path, notebook_name: str) -> Path:
    """Write the submission ``entry`` describes into ``target``, starting from the ``base`` submission."""
    shutil.copytree(base, target, symlinks=True)
    notebook_path = target / notebook_name
    if entry.expect == "attack" and entry.kind == "edit":
        namespace(entry)["edit"](target)
    elif entry.expect == "attack":
        notebook = nbformat.read(notebook_path, as_version=4)
        cell = nbformat.v4.new_code_cell(entry.code)
        notebook.cells.insert(0 if entry.place == "first" else len(notebook.cells), cell)
        nbformat.write(notebook, notebook_path)
    elif entry.apply == "edit":
        namespace(entry)["edit"](target)
    elif entry.target == WHOLE:
        notebook = nbformat.read(notebook_path, as_version=4)
        for name, source in sections(entry).items():
            if "." in name:
                (target / name).write_text(source)
            else:
                _cell(notebook, name).source = source
        nbformat.write(notebook, notebook_path)
    elif "." in entry.target:
        (target / entry.target).write_text(entry.code)
    else:
        notebook = nbformat.read(notebook_path, as_version=4)
        _cell(notebook, entry.target).source = entry.code
        nbformat.write(notebook, notebook_path)
    return target


def _grade_cells(reference_notebook: Path) -> set[str]:
    notebook = nbformat.read(reference_notebook, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def graded_cells(entry: Entry, reference_notebook: Path) -> set[str] | None:
    """The grade cells whose checks judge ``entry``: those it names, else the tests of the cell it
    changes (``<grade_id>_tests``) when there is one, else every cell (``None``)."""
    if entry.cells:
        return set(entry.cells)
    cells = _grade_cells(reference_notebook)
    if entry.target == WHOLE:
        # The checks of the cells it answers; the others read the reference's files, which a whole
        # solution leaves as they are (a deliverable it rewrites puts every check back in play).
        answered = sections(entry)
        if any("." in name for name in answered):
            return None
        return {f"{name}_tests" for name in answered} & cells
    cell = f"{entry.target}_tests"
    return {cell} if cell in cells else None


def graded_checks(entry: Entry) -> set[str] | None:
    """The checks of its cells that judge ``entry``, by name, or None for all of them: a wrong answer's
    are those it must lose (what the others of its cells make of it proves nothing), a correct
    answer's those it names, else all (it must keep every point it could lose)."""
    if entry.expect == "fail":
        return set(entry.loses)
    return set(entry.checks) or None


def solution_cells(notebook_path: Path) -> set[str]:
    """The ``grade_id`` of every code cell a student writes in the notebook."""
    notebook = nbformat.read(notebook_path, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]
        for c in notebook.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    }
