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
lose every check it names (``cells:`` may name the grade cells whose checks it concerns, to
grade only those). A deliverable that is not text (an MLflow store, ``mlflow.db``) is
varied by a script instead: with ``apply: edit`` in its docstring, the file defines
``edit(folder)``, which the kit's tests call on a copy of the reference submission.

An **attack** file ``<name>.py`` is one code cell added to the untouched release (``place: first``
in its docstring puts it before every other cell). It must not earn a single point, and grading
the rest of the class must go on.
"""

import ast
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat


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

    @property
    def id(self) -> str:
        return self.path.stem


def _docstring_fields(text: str) -> tuple[str, dict[str, str]]:
    doc = ast.get_docstring(ast.parse(text)) or ""
    summary = doc.strip().splitlines()[0] if doc.strip() else ""
    fields = {}
    for line in doc.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("loses", "place", "apply", "cells"):
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
        if expect == "fail" and not loses:
            raise ValueError(f"{path.name}: a failing variant must name the checks it loses ('loses: ...')")
        apply = fields.get("apply", "replace")
        if apply not in ("replace", "edit"):
            raise ValueError(f"{path.name}: 'apply:' is 'replace' or 'edit', not {apply!r}")
        cells = tuple(n.strip() for n in fields.get("cells", "").split(",") if n.strip())
        return Entry(path, target, expect, summary or why, text, loses, apply=apply, cells=cells)
    return Entry(path, "", "attack", summary or path.stem, text, place=fields.get("place", "last"))


def entries(folder: Path) -> list[Entry]:
    return [load(p) for p in sorted(folder.glob("*.py"))] if folder.is_dir() else []


def _cell(notebook, grade_id: str):
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def build(entry: Entry, base: Path, target: Path, notebook_name: str) -> Path:
    """Write the submission ``entry`` describes into ``target``, starting from the ``base`` submission."""
    shutil.copytree(base, target)
    notebook_path = target / notebook_name
    if entry.expect == "attack":
        notebook = nbformat.read(notebook_path, as_version=4)
        cell = nbformat.v4.new_code_cell(entry.code)
        notebook.cells.insert(0 if entry.place == "first" else len(notebook.cells), cell)
        nbformat.write(notebook, notebook_path)
    elif entry.apply == "edit":
        namespace: dict = {"__name__": f"catalogue_{entry.id}"}
        exec(compile(entry.code, str(entry.path), "exec"), namespace)  # noqa: S102 - the kit's own catalogue
        namespace["edit"](target)
    elif "." in entry.target:
        (target / entry.target).write_text(entry.code)
    else:
        notebook = nbformat.read(notebook_path, as_version=4)
        _cell(notebook, entry.target).source = entry.code
        nbformat.write(notebook, notebook_path)
    return target
