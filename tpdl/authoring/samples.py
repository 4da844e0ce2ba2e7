"""The sample class's reference and untouched submissions, derived from the source and the release.

``reference`` is the release with each solution cell holding the source's solution (markers
removed); ``untouched`` is the release as a student receives it; ``reference-fr`` is the French
edition's reference. :func:`run_reference` executes
the reference on the full budget, so that it hands in what a student's run writes (an MLflow
store, figures). The other sample students
(``mistakes``, ``attacker``) are written by hand, like real submissions.
"""

import contextlib
import copy
import re
import shutil
import sqlite3
from pathlib import Path

import nbformat

from tpdl.authoring import notebooks
from tpdl.core import manifest, paths

MARKER = re.compile(r"^[ \t]*#+ (BEGIN|END) SOLUTION[^\n]*\n", flags=re.M)


class NotReleased(Exception):
    """The sample class is written from the release: the message says how to build it."""


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


def reference_student(assignment: str) -> str:
    """The sample student who hands in ``assignment`` solved: ``reference`` for a TP, ``reference-fr``
    for its French edition."""
    language = paths.language_of(assignment)
    return "reference" if language == paths.SOURCE_LANGUAGE else f"reference-{language}"


def students(assignment: str) -> tuple[str, ...]:
    """The sample students :func:`write` writes for ``assignment``: a TP's reference and untouched
    students; an edition in another language, its reference student."""
    if paths.tp_of(assignment) != assignment:
        return (reference_student(assignment),)
    return ("reference", "untouched")


def write(assignment: str) -> None:
    """Rewrite the sample students of ``assignment`` (:func:`students`) from the current source and release.

    The deliverable templates (``app.py``, ``Dockerfile``...) follow too: the source's solutions
    (markers removed) for the reference, the release's stubs for the untouched student. The reference
    of an edition in another language hands in the English reference's run outputs (its saved models,
    MLflow store and figures: the editions' code is the same), until ``make sample-runs`` runs it.
    """
    release = paths.release(assignment) / f"{assignment}.ipynb"
    built = paths.source(assignment) / f"{assignment}.ipynb"
    if not release.is_file() or not built.is_file():
        raise NotReleased(
            f"{assignment} is not released yet ({release} is missing): run `tpdl release {assignment}` first"
        )
    for student in students(assignment):
        reference = student == reference_student(assignment)
        notebook = reference_notebook(assignment) if reference else nbformat.read(release, as_version=4)
        folder = paths.sample_submission(student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        if reference:
            _keep_outputs(notebook, folder / f"{assignment}.ipynb")
        if reference and paths.tp_of(assignment) != assignment:
            _share_run_outputs(assignment, folder)
        nbformat.write(notebook, folder / f"{assignment}.ipynb")
        write_deliverables(assignment, student, folder)


def _share_run_outputs(assignment: str, folder: Path) -> None:
    """What the English reference's run wrote, into the folder of an edition's reference that has not
    run yet (the same code writes the same files)."""
    tp = paths.tp_of(assignment)
    english = paths.sample_submission("reference", tp)
    for name in manifest.load(tp).run_outputs:
        origin, target = english / name, folder / name
        if target.exists() or not origin.exists():
            continue
        if origin.is_dir():
            shutil.copytree(origin, target)
        else:
            shutil.copy2(origin, target)


def _keep_outputs(notebook, previous: Path) -> None:
    """Give the cells of ``notebook`` whose code is unchanged the outputs they had in ``previous``
    (the reference's last full run, ``make sample-runs``); a changed cell has none until the next.
    A cell's code is compared as a syntax tree: a comment or a line break changes no output."""
    if not previous.is_file():
        return
    outputs = {
        _code(cell.source): (cell.get("outputs", []), cell.get("execution_count"))
        for cell in nbformat.read(previous, as_version=4).cells
        if cell.cell_type == "code" and cell.get("outputs")
    }
    for cell in notebook.cells:
        kept = outputs.get(_code(cell.source)) if cell.cell_type == "code" else None
        if kept:
            cell.outputs, cell.execution_count = kept


def _code(source: str) -> str:
    """What a code cell runs: its syntax tree (its source, where it does not parse)."""
    import ast

    from tpdl.authoring import editions

    try:
        return ast.dump(ast.parse(editions.python_of(source)))
    except SyntaxError:
        return source


def write_deliverables(assignment: str, student: str, folder: Path) -> None:
    """The deliverables' templates into ``folder``: the source's solutions for the reference, else stubs."""
    solved = student == reference_student(assignment)
    origin = paths.source(assignment) if solved else paths.release(assignment)
    for template in notebooks.templates(origin):
        text = template.read_text()
        (folder / template.relative_to(origin)).write_text(MARKER.sub("", text) if solved else text)


# --------------------------------------------------------------------------- the reference's own runs

EXECUTE_TIMEOUT_S = 3600


def make_relocatable(store: Path, folder: Path) -> None:
    """Rewrite the absolute paths an MLflow SQLite store recorded under ``folder`` as relative ones."""
    prefixes = sorted({str(folder), str(folder.resolve()), str(paths.course_dir())}, key=len, reverse=True)
    with contextlib.closing(sqlite3.connect(store)) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            columns = [
                row[1]
                for row in db.execute(f'PRAGMA table_info("{table}")')
                if "CHAR" in row[2].upper() or "TEXT" in row[2].upper()
            ]
            for column in columns:
                for prefix in prefixes:
                    db.execute(
                        f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) WHERE '
                        f'instr("{column}", ?) > 0',
                        (prefix, ".", prefix),
                    )
        db.commit()
        db.execute("VACUUM")


def _scrub_outputs(notebook, folder: Path) -> None:
    """Keep what a reader of the sample wants (printed results, figures), without this machine's paths."""
    prefixes = sorted({str(folder), str(folder.resolve()), str(paths.course_dir())}, key=len, reverse=True)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                continue
            if output.get("output_type") == "stream":
                for prefix in prefixes:
                    output["text"] = output["text"].replace(prefix, ".")
            kept.append(output)
        cell.outputs = kept


def run_reference(assignment: str, budget: str = "full", folder: Path | None = None) -> Path:
    """Execute the reference student's notebook on ``budget`` in ``folder``, keeping what it writes.

    By default ``folder`` is the sample class's reference, which then hands in real artefacts (an
    MLflow store, figures) produced by the kit's own solution, as a student would.
    """
    folder = folder or paths.sample_submission(reference_student(assignment), assignment)
    folder.mkdir(parents=True, exist_ok=True)
    for name in manifest.load(assignment).run_outputs:
        target = folder / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    write_deliverables(
        assignment, reference_student(assignment), folder
    )  # the notebook's last cells use them
    notebook = reference_notebook(assignment)
    notebooks.execute(notebook, folder, budget, timeout_s=EXECUTE_TIMEOUT_S)
    _scrub_outputs(notebook, folder)
    nbformat.write(notebook, folder / f"{assignment}.ipynb")
    if (folder / "mlflow.db").exists():
        make_relocatable(folder / "mlflow.db", folder)
    return folder
