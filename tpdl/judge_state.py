"""The notebook as the judge runs it: what the student's functions need that only a skipped cell gives.

At grading, the worker runs the notebook's code cells except those tagged ``skip-grading``
(``tpdl.worker.execute_notebook``: training cells, visible tests that read what training made),
and the graders call the student's functions in the namespace that run left. A function that
reads a name which only a skipped cell binds (a module a training cell imports, a constant it
sets) works when the whole notebook runs, and raises ``NameError`` at grading. This module finds
that before hand-in, with messages that name the cell:

* :func:`code_cells` reads, from the sources alone, what each code cell binds and imports;
* :func:`unbound` runs in the judge's state (the notebook worker's namespace): the global names
  each solution function, and every function of the notebook it reaches, reads and the
  namespace lacks;
* :func:`problems` turns the run's cell records and those names into the student's messages.

``tpdl check`` asks the notebook worker of the sandbox (``tpdl.check``). Under the Validate button
and ``nbgrader validate``, :func:`on_cell_start` (``c.Validator.Execute.on_cell_start``) starts the
judge's run of the notebook in a separate process (``python -m tpdl.judge_state``, :class:`Apart`)
beside nbgrader's run of it, and gives each grade cell concerned an error that says what fails at
grading: nbgrader then reports that cell as failed, with the message.
"""

import atexit
import builtins
import dis
import json
import os
import shutil
import subprocess
import symtable
import sys
import tempfile
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path

from tpdl import protocol
from tpdl.i18n import KIT as _
from tpdl.worker import SKIP_TAG

LABEL_CHARS = 60
RUN_TIMEOUT_S = 600  # the judge's run of a notebook under validation (its training cells skipped)
JUDGE_ENV = ("MPLBACKEND", "TF_CPP_MIN_LOG_LEVEL", "TPDL_BUDGET", "NBGRADER_EXECUTION", "OMP_NUM_THREADS",
             "KERAS_BACKEND", "MLFLOW_DISABLE_TELEMETRY", "TPDL_DATA_DIR")  # fmt: skip
ENAME = "SkippedAtGrading"  # the error a grade cell is given under validation
NOTEBOOK = ".tpdl-judge-state.ipynb"  # the copy run apart
TRACEBACK_CHARS = 80  # of a line of the error nbgrader prints (it cuts lines at 87)


@dataclass(frozen=True)
class Cell:
    """One code cell as the judge numbers it (``number``: its place among the code cells, from 1)."""

    number: int
    index: int  # its place among all the notebook's cells
    skipped: bool
    grade_id: str
    grade: bool
    solution: bool
    first_line: str
    binds: frozenset[str]
    imports: frozenset[str]
    functions: frozenset[str]  # the functions and classes it defines

    @property
    def label(self) -> str:
        """``cell 12 (`import time`)``: its number and its grade_id or first line."""
        return _("cell {number} ({what})", number=self.number, what=f"`{self.grade_id or self.first_line}`")


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _bindings(source: str) -> tuple[set, set, set]:
    """(names bound, names imported, functions and classes defined) at the top level of a cell."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        table = symtable.symtable(TransformerManager().transform_cell(source), "<cell>", "exec")
    except (SyntaxError, ValueError):
        return set(), set(), set()
    symbols = [s for s in table.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()]
    return (
        {s.get_name() for s in symbols},
        {s.get_name() for s in symbols if s.is_imported()},
        {s.get_name() for s in symbols if s.is_namespace() and not s.is_imported()},
    )


def code_cells(notebook: dict) -> list[Cell]:
    """The notebook's code cells (``notebook``: its JSON), numbered as the judge numbers them."""
    cells, number = [], 0
    for index, cell in enumerate(notebook.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        number += 1
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        tags = metadata.get("tags") if isinstance(metadata.get("tags"), list) else []
        nbgrader = metadata.get("nbgrader") if isinstance(metadata.get("nbgrader"), dict) else {}
        source = _source(cell)
        lines = [line.strip() for line in source.splitlines() if line.strip()]
        binds, imports, functions = _bindings(source)
        cells.append(Cell(
            number=number, index=index, skipped=SKIP_TAG in tags, grade_id=str(nbgrader.get("grade_id") or ""),
            grade=bool(nbgrader.get("grade")), solution=bool(nbgrader.get("solution")),
            first_line=(lines[0] if lines else "")[:LABEL_CHARS], binds=frozenset(binds),
            imports=frozenset(imports), functions=frozenset(functions),
        ))  # fmt: skip
    return cells


def solution_functions(cells: list[Cell]) -> list[str]:
    """The functions and classes the solution cells run at grading define: those the graders call."""
    names = {name for cell in cells if cell.solution and not cell.skipped for name in cell.functions}
    return sorted(names)[: protocol.MAX_FUNCTIONS]


# --------------------------------------------------------------------------- in the judge's state


def _reads(code: types.CodeType) -> set[str]:
    """The global names ``code`` and the code nested in it read."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _reads(constant)
    return names


def _notebook_code(value) -> list[types.CodeType]:
    """The code objects of ``value`` written in the notebook: a function's (and what it wraps), a
    class's methods'."""
    if isinstance(value, type):
        return [code for member in vars(value).values() for code in _notebook_code(member)]
    if isinstance(value, types.ModuleType) or not callable(value) and not isinstance(value, property):
        return []
    codes = []
    if isinstance(value, types.FunctionType) and value.__code__.co_filename.startswith("<cell "):
        codes.append(value.__code__)
    for attribute in ("__wrapped__", "python_function", "__func__", "fget"):  # decorators, tf.function
        try:
            inner = getattr(value, attribute, None)
        except Exception:  # noqa: BLE001 - an object of the student's that answers oddly: nothing to read
            inner = None
        if inner is not None and inner is not value:
            codes += _notebook_code(inner)
    return codes


def unbound(namespace: dict, functions: list[str]) -> dict[str, list[str]]:
    """For each of ``functions`` found in ``namespace``: the global names it, or a function of the
    notebook it reads in turn, uses and neither the namespace nor the builtins hold."""
    found = {}
    for name in functions:
        missing, seen, todo = set(), set(), list(_notebook_code(namespace.get(name)))
        while todo:
            code = todo.pop()
            if code in seen:
                continue
            seen.add(code)
            for read in _reads(code):
                if read in namespace:
                    todo += _notebook_code(namespace[read])
                elif not hasattr(builtins, read):
                    missing.add(read)
        if missing:
            found[name] = sorted(missing)[: protocol.MAX_UNBOUND]
    return found


# --------------------------------------------------------------------------- the messages


@dataclass(frozen=True)
class Problem:
    """What fails at grading and not before: ``cell`` is the grade cell it concerns (None: none)."""

    cell: Cell | None
    message: str


def _binder(cells: list[Cell], name: str) -> Cell | None:
    """The first skipped cell that binds ``name``, where no cell run at grading does."""
    if any(name in cell.binds for cell in cells if not cell.skipped):
        return None
    return next((cell for cell in cells if cell.skipped and name in cell.binds), None)


def _grade_cell_after(cells: list[Cell], cell: Cell) -> Cell | None:
    """``cell`` if it is a grade cell, else the first grade cell after it (its visible tests)."""
    return next((c for c in cells if c.number >= cell.number and c.grade), None)


def _uses(function: str, name: str, binder: Cell) -> str:
    if name in binder.imports:
        return _("`{function}` uses `{name}`, which only {cell} imports, a cell tagged skip-grading: it is not run "
                 "at grading. Import it in the cell that defines {function}.", function=function, name=name,
                 cell=binder.label)  # fmt: skip
    return _("`{function}` uses `{name}`, which only {cell} defines, a cell tagged skip-grading: it is not run at "
             "grading. Define it in a cell that is run at grading (one not tagged skip-grading).",
             function=function, name=name, cell=binder.label)  # fmt: skip


def _missing_name(message: str) -> str | None:
    """``x`` of ``NameError: name 'x' is not defined``."""
    prefix, _sep, rest = message.partition(": name '")
    if prefix != "NameError" or "'" not in rest:
        return None
    return rest.split("'", 1)[0]


def problems(cells: list[Cell], records: list[dict], names: dict[str, list[str]]) -> list[Problem]:
    """What the judge's run shows: each cell run at grading that fails (``records``: the run's
    ``protocol.CellRecord`` as dicts), and each name a function uses that only a skipped cell binds."""
    by_number = {cell.number: cell for cell in cells}
    found = []
    for record in records:
        cell = by_number.get(record["cell"])
        if record["status"] != "error" or cell is None:
            continue
        name = _missing_name(record.get("message", ""))
        binder = _binder(cells, name) if name else None
        if binder is not None:
            message = _("{cell} fails when the notebook is run as at grading: `{name}` is bound only by {binder}, "
                        "a cell tagged skip-grading: it is not run at grading.", cell=cell.label, name=name,
                        binder=binder.label)  # fmt: skip
        else:
            message = _("{cell} fails when the notebook is run as at grading: {error}", cell=cell.label,
                        error=record.get("message", ""))  # fmt: skip
        found.append(Problem(_grade_cell_after(cells, cell), message))
    defined_in = {name: cell for cell in cells if not cell.skipped for name in cell.functions}
    for function, missing in sorted(names.items()):
        for name in missing:
            binder = _binder(cells, name)
            if binder is not None:
                home = defined_in.get(function)
                found.append(
                    Problem(_grade_cell_after(cells, home) if home else None, _uses(function, name, binder))
                )
    return found


# --------------------------------------------------------------------------- run here (validation)


def run(notebook_path: Path) -> dict:
    """Run the notebook as the judge does, in this process, and analyse the state it leaves:
    ``{"cells": [CellRecord as dicts], "unbound": {function: [names]}}``."""
    from tpdl import worker

    notebook = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    namespace, records = worker.execute_notebook(str(notebook_path), [SKIP_TAG])
    functions = solution_functions(code_cells(notebook))
    return {"cells": [protocol.plain(record) for record in records], "unbound": unbound(namespace, functions)}


def judge_environment() -> dict:
    """This process's environment with the settings the judge's workers run under (the ``ci``
    budget, the kit's data fixtures, ``NBGRADER_EXECUTION=autograde``)."""
    from tpdl import sandbox

    return {**os.environ, **{key: sandbox.WORKER_ENV[key] for key in JUDGE_ENV}}


class Apart:
    """The judge's run of ``notebook`` (its JSON), in a separate process working in a scratch copy
    of ``folder``: started at once, its problems read by :meth:`problems`."""

    def __init__(self, folder: Path, notebook: dict):
        from tpdl import validation

        self.cells = code_cells(notebook)
        self.scratch = Path(tempfile.mkdtemp(prefix="tpdl-judge-state-"))
        work, self.answer = self.scratch / "work", self.scratch / "answer.json"
        validation.copy_sources(Path(folder), work)
        (work / NOTEBOOK).write_text(json.dumps(notebook), encoding="utf-8")
        self.log = (self.scratch / "stderr").open("w+", encoding="utf-8")
        self.process = subprocess.Popen([sys.executable, "-m", "tpdl.judge_state", NOTEBOOK, str(self.answer)],
                                        cwd=work, env=judge_environment(), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self.log)  # fmt: skip

    def problems(self, timeout_s: float = RUN_TIMEOUT_S) -> list[Problem]:
        """Wait for the run (at most ``timeout_s``) and say what it shows; the scratch copy goes."""
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.close()
            return [Problem(None, _("the notebook run as at grading did not end within {seconds} s",
                                    seconds=int(timeout_s)))]  # fmt: skip
        try:
            if self.process.returncode != 0 or not self.answer.is_file():
                self.log.seek(0)
                last = (self.log.read().strip().splitlines() or [""])[-1][:300]
                return [Problem(None, _("the notebook could not be run as at grading: {error}", error=last))]
            state = json.loads(self.answer.read_text(encoding="utf-8"))
            return problems(self.cells, state["cells"], state["unbound"])
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


# --------------------------------------------------------------------------- under nbgrader's Validator


class _Validation:
    """The judge's run of the notebook nbgrader validates, beside nbgrader's run of it.

    nbclient calls :func:`on_cell_start` before each cell of the notebook, the first included.
    Validation reads the notebook from its folder, which is the working folder then: the file
    whose cells are those nbgrader runs is run apart as the judge runs it. A problem is given to
    its grade cell once that cell has run (nbclient clears a cell's outputs when it runs it).
    """

    def __init__(self, notebook: dict, apart: Apart):
        self.notebook, self.apart = notebook, apart
        self.cells: dict[int, object] = {}  # nbgrader's cells, as nbclient hands them over
        self.found: list[Problem] | None = None
        self.given: set[int] = set()

    @classmethod
    def start(cls, first_cell) -> "_Validation | None":
        for path in sorted(Path.cwd().glob("*.ipynb")):
            try:
                notebook = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            cells = notebook.get("cells") if isinstance(notebook, dict) else None
            if cells and _source(cells[0]) == first_cell.get("source", ""):
                if not any(cell.skipped for cell in code_cells(notebook)):
                    return None  # the judge runs it whole, as nbgrader does
                return cls(notebook, Apart(Path.cwd(), notebook))
        return None

    def matches(self, index: int, cell) -> bool:
        cells = self.notebook["cells"]
        return index < len(cells) and _source(cells[index]) == cell.get("source", "")

    def before(self, index: int, cell) -> None:
        """nbclient is about to run the cell at ``index``: every cell before it has run."""
        self.cells[index] = cell
        last = index == len(self.notebook["cells"]) - 1
        if self.found is None and (last or self.apart.process.poll() is not None):
            self.found = self.apart.problems()
        if self.found is None:
            return
        grade_cells = [c for c in self.apart.cells if c.grade]
        for number, problem in enumerate(self.found):
            target = problem.cell or (grade_cells[-1] if grade_cells else None)
            if target is not None and target.index >= index and last:  # it would run after: the one before
                target = next((c for c in reversed(grade_cells) if c.index < index), None)
            if number in self.given or target is None or target.index >= index:
                continue
            self.given.add(number)
            outputs = self.cells[target.index].outputs
            ours = [output.get("ename") == ENAME for output in outputs]
            if not any(
                output.get("output_type") == "error" and not mine for output, mine in zip(outputs, ours)
            ):
                outputs.insert(sum(ours), _error_output(problem.message))  # first: nbgrader reads the first

    def close(self) -> None:
        self.apart.close()


_VALIDATION: _Validation | None = None


@atexit.register
def _stop_validation() -> None:
    if _VALIDATION is not None:
        _VALIDATION.close()


def on_cell_start(cell, cell_index: int, **_ignored) -> None:
    """nbclient's ``on_cell_start`` under nbgrader's Validator (``c.Validator.Execute.on_cell_start``)."""
    global _VALIDATION
    if cell_index == 0:
        if _VALIDATION is not None:
            _VALIDATION.close()
        _VALIDATION = _Validation.start(cell)
    if _VALIDATION is None:
        return
    if not _VALIDATION.matches(cell_index, cell):
        _VALIDATION.close()  # not the file read at the start: nothing to say
        _VALIDATION = None
        return
    _VALIDATION.before(cell_index, cell)


def _error_output(message: str):
    import nbformat

    lines = textwrap.wrap(f"{ENAME}: {message}", TRACEBACK_CHARS, break_long_words=False)
    return nbformat.v4.new_output("error", ename=ENAME, evalue=message, traceback=lines)


if __name__ == "__main__":
    state = run(Path(sys.argv[1]))
    Path(sys.argv[2]).write_text(json.dumps(state), encoding="utf-8")
