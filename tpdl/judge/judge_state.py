"""The notebook as the judge runs it: what the student's functions need that only a skipped cell gives.

At grading, the worker runs the notebook's code cells except those tagged ``skip-grading``
(``tpdl.judge.worker.notebook.execute_notebook``: training cells, visible tests that read what training made),
and the graders call the student's functions in the namespace that run left. A function that
reads a name which only a skipped cell binds (a module a training cell imports, a constant it
sets) works when the whole notebook runs, and raises ``NameError`` at grading. This module finds
that before hand-in, with messages that name the cell:

* :func:`code_cells` reads, from the sources alone, what each code cell binds and imports;
* :func:`unbound` runs in the judge's state (the notebook worker's namespace): the global names
  each solution function, and every function of the notebook it reaches, reads and the
  namespace lacks;
* :func:`problems` turns the run's cell records and those names into the student's messages.

``tpdl check`` asks the notebook worker of the sandbox (``tpdl.grading.check``). Under the Validate button
and ``nbgrader validate``, :func:`on_cell_start` (``c.Validator.Execute.on_cell_start``) starts the
judge's run of the notebook in a separate process (``python -m tpdl.judge.worker.notebook``, :class:`Apart`)
beside nbgrader's run of it, and gives each grade cell concerned an error that says what fails at
grading: nbgrader then reports that cell as failed, with the message.
"""

import ast
import atexit
import builtins
import dataclasses
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tpdl.core.i18n import KIT as _
from tpdl.judge import protocol

SKIP_TAG = "skip-grading"  # a cell the judge does not run (training, say)
LABEL_CHARS = 60
RUN_TIMEOUT_S = 600  # the judge's run of a notebook under validation (its training cells skipped)
JUDGE_ENV = (
    "MPLBACKEND",
    "TF_CPP_MIN_LOG_LEVEL",
    "TPDL_BUDGET",
    "NBGRADER_EXECUTION",
    "OMP_NUM_THREADS",
    "KERAS_BACKEND",
    "MLFLOW_DISABLE_TELEMETRY",
    "TPDL_DATA_DIR",
)
ENAME = "SkippedAtGrading"  # the error a grade cell is given under validation
NOTEBOOK = ".tpdl-judge-state.ipynb"  # the copy run apart
TRACEBACK_CHARS = 80  # of a line of the error nbgrader prints (it cuts lines at 87)


# ------------------------------------------------------------------ from the sources: state beyond names

RAISES = {
    "name": {"NameError"},
    "global": {"KeyError", "LookupError"},
    "attribute": {"AttributeError"},
    "key": {"KeyError", "LookupError"},
    "get": set(),
}
CATCH_ALL = {"Exception", "BaseException", "*"}  # ``*``: a bare ``except:``


@dataclass(frozen=True)
class Read:
    """Global state a function reads, as written: `np.FLOAT`, `CONFIG['scale']`, `UNITS` (of
    ``globals()["UNITS"]``). ``kind``: ``name`` (a plain name), ``global`` (``globals()[...]``),
    ``attribute``, ``key`` or ``get`` (``.get``, ``os.getenv``: a default instead of an error)."""

    text: str
    kind: str
    guarded: bool  # inside a ``try`` whose handler catches what the read raises


def _key(node: ast.expr) -> str | int | None:
    value = node.value if isinstance(node, ast.Constant) else None
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _is_globals(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "globals"


def _global_key(key) -> str | None:
    return key if isinstance(key, str) and key.isidentifier() else None


def _chain(node: ast.expr) -> tuple[str, str, str] | None:
    """(root name, text, kind) of ``node`` where it names a piece of state: `np.FLOAT`, `CONFIG['k']`,
    `globals()['k']` (text ``k``; its root ``""``: global wherever it is read)."""
    if isinstance(node, ast.Name):
        return node.id, node.id, "name"
    if isinstance(node, ast.Attribute) and (base := _chain(node.value)):
        return base[0], f"{base[1]}.{node.attr}", "attribute"
    if isinstance(node, ast.Subscript) and (key := _key(node.slice)) is not None:
        if _is_globals(node.value):
            return ("", name, "global") if (name := _global_key(key)) else None
        if base := _chain(node.value):
            return base[0], f"{base[1]}[{key!r}]", "key"
    return None


def _call_chain(node: ast.Call) -> tuple[str, str, str, bool] | None:
    """(root, text, kind, writes) of the state a call reads or sets: ``getattr(b, "a")``,
    ``setattr(b, "a", v)``, ``b.get("k")``, ``b.setdefault("k", v)``, ``os.getenv("k")``,
    ``globals().get("k")``."""
    function, args = node.func, node.args
    if isinstance(function, ast.Name) and function.id in ("getattr", "setattr") and len(args) >= 2:
        base, attribute = _chain(args[0]), _key(args[1])
        if base and isinstance(attribute, str):
            return base[0], f"{base[1]}.{attribute}", "attribute", function.id == "setattr"
        return None
    if not isinstance(function, ast.Attribute) or not args or (key := _key(args[0])) is None:
        return None
    if function.attr == "getenv" and isinstance(function.value, ast.Name) and function.value.id == "os":
        return "os", f"os.environ[{key!r}]", "get", False
    if function.attr not in ("get", "setdefault"):
        return None
    if _is_globals(function.value):
        return ("", name, "get", function.attr == "setdefault") if (name := _global_key(key)) else None
    if base := _chain(function.value):
        return base[0], f"{base[1]}[{key!r}]", "get", function.attr == "setdefault"
    return None


def _local_names(scope: ast.AST) -> set[str]:
    """The names a function (and what it nests) binds: its locals, less those it declares global."""
    names, declared = set(), set()
    for node in ast.walk(scope):
        if isinstance(node, ast.Global):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not scope:
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names - declared


def _parse(source: str) -> ast.Module | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


class _Scan(ast.NodeVisitor):
    """What one scope reads and sets of the notebook's global state: a function's body with its
    ``local`` names (``inside``), else a cell's top level (the functions it defines left out)."""

    def __init__(self, local: set[str], inside: bool):
        self.local, self.inside = local, inside
        self.reads: set[Read] = set()
        self.writes: set[str] = set()  # state, and names bound beyond the cell's own assignments
        self.calls: set[str] = set()  # the global names it calls
        self.dynamic: list[str] = []  # what binds names no reading of the source finds
        self.caught: list[set[str]] = []

    def scope(self, node: ast.AST) -> None:
        if self.inside:
            self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = scope

    def visit_Try(self, node: ast.Try | ast.TryStar) -> None:
        caught = set()
        for handler in node.handlers:
            types_ = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            caught |= {"*" if t is None else getattr(t, "id", getattr(t, "attr", "")) for t in types_}
        self.caught.append(caught)
        for statement in node.body:
            self.visit(statement)
        self.caught.pop()
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    visit_TryStar = visit_Try

    def found(self, chain: tuple[str, str, str] | None, store: bool) -> None:
        if not chain or chain[0] in self.local:
            return
        root, text, kind = chain
        if store:
            if kind != "name" or self.inside:
                self.writes.add(text)
            return
        guarded = any(caught & (RAISES[kind] | CATCH_ALL) for caught in self.caught) and bool(RAISES[kind])
        self.reads.add(Read(text, kind, guarded))

    def visit_Name(self, node: ast.Name) -> None:
        self.found(_chain(node), not isinstance(node.ctx, ast.Load))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.found(_chain(node), not isinstance(node.ctx, ast.Load))
        self.visit(node.value)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self.found(_chain(node), not isinstance(node.ctx, ast.Load))
        self.visit(node.value)
        self.visit(node.slice)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if any(alias.name == "*" for alias in node.names):
            self.dynamic.append(f"from {'.' * node.level}{node.module or ''} import *")

    def visit_Call(self, node: ast.Call) -> None:
        if chain := _call_chain(node):
            self.found(chain[:3], chain[3])
        function = node.func
        if isinstance(function, ast.Name) and function.id in ("exec", "compile") and node.args:
            self.executes(node.args[0], function.id)
        elif isinstance(function, ast.Name) and function.id not in self.local:
            self.calls.add(function.id)
        self.generic_visit(node)

    def executes(self, code: ast.expr, how: str) -> None:
        if isinstance(code, ast.Call) and isinstance(code.func, ast.Name) and code.func.id == "compile":
            return  # compile(...) is scanned as a call of its own
        text = code.value if isinstance(code, ast.Constant) and isinstance(code.value, str) else None
        tree = None if text is None else _parse(text)
        if text is None or tree is None:
            self.dynamic.append(f"{how}(...)")
            return
        inner = _Scan(set(), inside=False)
        inner.visit(tree)
        self.writes |= inner.writes | _bindings(text)[0]
        self.calls |= inner.calls
        self.dynamic += inner.dynamic


def _read_cell(source: str) -> tuple[_Scan, dict[str, _Scan]]:
    """A cell's top level, and each function and class it defines, as read from its source."""
    top, functions, tree = _Scan(set(), inside=False), {}, _parse(source)
    for node in tree.body if tree else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scan = functions[node.name] = _Scan(_local_names(node), inside=True)
            scan.generic_visit(node)
    if tree:
        top.visit(tree)
    return top, functions


def _reach(start: set[str], functions: dict[str, _Scan], follow) -> list[_Scan]:
    """The scans of the functions named in ``start`` and of those they name in turn (``follow``)."""
    seen, todo, found = set(), list(start), []
    while todo:
        name = todo.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        found.append(functions[name])
        todo += follow(functions[name])
    return found


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
    writes: frozenset[str] = frozenset()  # state it sets (`np.FLOAT`, `CONFIG['k']`), names bound elsewise
    dynamic: tuple[str, ...] = ()  # what binds names no reading finds (`from m import *`, `exec(...)`)
    scans: dict[str, _Scan] = field(default_factory=dict, compare=False, repr=False)  # its functions' reads

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
    cells, number, read = [], 0, []
    for index, cell in enumerate(notebook.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        number += 1
        found = cell.get("metadata")
        metadata: dict = found if isinstance(found, dict) else {}
        listed, marks = metadata.get("tags"), metadata.get("nbgrader")
        tags: list = listed if isinstance(listed, list) else []
        nbgrader: dict = marks if isinstance(marks, dict) else {}
        source = _source(cell)
        lines = [line.strip() for line in source.splitlines() if line.strip()]
        binds, imports, functions = _bindings(source)
        read.append(_read_cell(source))
        cells.append(
            Cell(
                number=number,
                index=index,
                skipped=SKIP_TAG in tags,
                grade_id=str(nbgrader.get("grade_id") or ""),
                grade=bool(nbgrader.get("grade")),
                solution=bool(nbgrader.get("solution")),
                first_line=(lines[0] if lines else "")[:LABEL_CHARS],
                binds=frozenset(binds),
                imports=frozenset(imports),
                functions=frozenset(functions),
            )
        )
    # what a cell sets through the notebook's functions it calls, wherever they are defined
    defined = {
        name: scan
        for (_top, scans), cell in sorted(zip(read, cells), key=lambda r: not r[1].skipped)
        for name, scan in scans.items()
    }
    for index, ((top, scans), cell) in enumerate(zip(read, cells)):
        called = _reach(top.calls, defined, lambda scan: scan.calls)
        cells[index] = dataclasses.replace(
            cell,
            writes=frozenset(top.writes.union(*(scan.writes for scan in called))),
            dynamic=tuple(top.dynamic + [how for scan in called for how in scan.dynamic]),
            scans=scans,
        )
    return cells


def state_reads(cells: list[Cell], function: str) -> tuple[set[Read], set[str]]:
    """What ``function``, and every function of the cells run at grading it names, reads, and
    what they set themselves (a cache, a ``global``): (reads, sets)."""
    defined = {name: scan for cell in cells if not cell.skipped for name, scan in cell.scans.items()}
    names = _reach(
        {function}, defined, lambda scan: {read.text for read in scan.reads if read.kind == "name"}
    )
    return set().union(*(scan.reads for scan in names)), set().union(*(scan.writes for scan in names))


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
    if any(name in cell.binds | cell.writes for cell in cells if not cell.skipped):
        return None
    return next((cell for cell in cells if cell.skipped and name in cell.binds | cell.writes), None)


def _dynamic_binder(cells: list[Cell]) -> Cell | None:
    """The first skipped cell that may bind names no reading finds, where no cell run at grading may."""
    if any(cell.dynamic for cell in cells if not cell.skipped):
        return None
    return next((cell for cell in cells if cell.skipped and cell.dynamic), None)


def _failed_on(message: str) -> str | None:
    """What a failing cell lacked: ``x`` (a ``NameError``), ``.x`` (``AttributeError``), ``['x']``
    (``KeyError``)."""
    kind, _sep, rest = message.partition(": ")
    quoted = rest.rsplit("'", 2)[-2] if rest.count("'") >= 2 else None
    if kind == "AttributeError" and quoted:
        return f".{quoted}"
    if kind == "KeyError" and quoted:
        return f"[{quoted!r}]"
    return _missing_name(message)


def _setter(cells: list[Cell], lacked: str) -> tuple[str, Cell] | None:
    """(what, cell): the state a skipped cell sets that ends with ``lacked`` (``.x``, ``['x']``), or the
    name it binds that a ``KeyError`` names (``globals()['x']``)."""
    key = lacked[2:-2] if lacked.startswith("[") else None
    for cell in cells:
        for written in sorted(cell.writes | cell.binds):
            if written.endswith(lacked) or written == key:
                binder = _binder(cells, written)
                if binder is not None:
                    return written, binder
    return None


def _grade_cell_after(cells: list[Cell], cell: Cell) -> Cell | None:
    """``cell`` if it is a grade cell, else the first grade cell after it (its visible tests)."""
    return next((c for c in cells if c.number >= cell.number and c.grade), None)


def _uses(function: str, name: str, binder: Cell) -> str:
    if name in binder.imports:
        return _(
            "`{function}` uses `{name}`, which only {cell} imports, a cell tagged skip-grading: it is not "
            "run at grading. Import it in the cell that defines {function}.",
            function=function,
            name=name,
            cell=binder.label,
        )
    return _(
        "`{function}` uses `{name}`, which only {cell} defines, a cell tagged skip-grading: it is not run at "
        "grading. Define it in a cell that is run at grading (one not tagged skip-grading).",
        function=function,
        name=name,
        cell=binder.label,
    )


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
        error = record.get("message", "")
        lacked = _failed_on(error)
        name = lacked if lacked and lacked[0] not in ".[" else None
        binder = _binder(cells, name) if name else None
        setter = _setter(cells, lacked) if lacked and binder is None else None
        dynamic = _dynamic_binder(cells) if name and binder is None and setter is None else None
        if setter is not None:
            message = _(
                "{cell} fails when the notebook is run as at grading ({error}): `{name}` is set only by "
                "{binder}, a cell tagged skip-grading: it is not run at grading.",
                cell=cell.label,
                error=error,
                name=setter[0],
                binder=setter[1].label,
            )
        elif dynamic is not None:
            message = _(
                "{cell} fails when the notebook is run as at grading ({error}): {binder} may have bound it "
                "with `{how}`, a cell tagged skip-grading: it is not run at grading.",
                cell=cell.label,
                error=error,
                binder=dynamic.label,
                how=dynamic.dynamic[0],
            )
        elif binder is not None:
            message = _(
                "{cell} fails when the notebook is run as at grading: `{name}` is bound only by {binder}, "
                "a cell tagged skip-grading: it is not run at grading.",
                cell=cell.label,
                name=name,
                binder=binder.label,
            )
        else:
            message = _(
                "{cell} fails when the notebook is run as at grading: {error}", cell=cell.label, error=error
            )
        found.append(Problem(_grade_cell_after(cells, cell), message))
    defined_in = {name: cell for cell in cells if not cell.skipped for name in cell.functions}

    def add(function: str, message: str) -> None:
        home = defined_in.get(function)
        found.append(Problem(_grade_cell_after(cells, home) if home else None, message))

    for function in solution_functions(cells):
        reads, sets = state_reads(cells, function)
        guarded = {r.text for r in reads if r.guarded} - {r.text for r in reads if not r.guarded}
        for name in sorted(set(names.get(function, [])) - guarded - sets):
            binder = _binder(cells, name)
            dynamic = _dynamic_binder(cells) if binder is None else None
            if binder is not None:
                add(function, _uses(function, name, binder))
            elif dynamic is not None:
                add(
                    function,
                    _(
                        "`{function}` uses `{name}`, which {cell} may bind with `{how}`, a cell tagged "
                        "skip-grading: it is not run at grading. Bind it by name in a cell that is run at "
                        "grading.",
                        function=function,
                        name=name,
                        cell=dynamic.label,
                        how=dynamic.dynamic[0],
                    ),
                )
        for text in sorted({r.text for r in reads if r.kind != "name" and not r.guarded} - sets):
            binder = _binder(cells, text)
            if binder is not None:
                add(
                    function,
                    _(
                        "`{function}` reads `{name}`, which only {cell} sets, a cell tagged skip-grading: it "
                        "is not run at grading. Set it in a cell that is run at grading.",
                        function=function,
                        name=text,
                        cell=binder.label,
                    ),
                )
    return found


# --------------------------------------------------------------------------- the judge's run, apart


def judge_environment() -> dict:
    """This process's environment with the settings the judge's workers run under (the ``ci``
    budget, the kit's data fixtures, ``NBGRADER_EXECUTION=autograde``)."""
    from tpdl.judge import sandbox

    return {**os.environ, **{key: sandbox.WORKER_ENV[key] for key in JUDGE_ENV}}


class Apart:
    """The judge's run of ``notebook`` (its JSON), in a separate process working in a scratch copy
    of ``folder``: started at once, its problems read by :meth:`problems`."""

    def __init__(self, folder: Path, notebook: dict):
        from tpdl.course import validation

        self.cells = code_cells(notebook)
        self.scratch = Path(tempfile.mkdtemp(prefix="tpdl-judge-state-"))
        work, self.answer = self.scratch / "work", self.scratch / "answer.json"
        validation.copy_sources(Path(folder), work)
        (work / NOTEBOOK).write_text(json.dumps(notebook), encoding="utf-8")
        self.log = (self.scratch / "stderr").open("w+", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tpdl.judge.worker.notebook", NOTEBOOK, str(self.answer)],
            cwd=work,
            env=judge_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def problems(self, timeout_s: float = RUN_TIMEOUT_S) -> list[Problem]:
        """Wait for the run (at most ``timeout_s``) and say what it shows; the scratch copy goes."""
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.close()
            return [
                Problem(
                    None,
                    _(
                        "the notebook run as at grading did not end within {seconds} s",
                        seconds=int(timeout_s),
                    ),
                )
            ]
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
        self.cells: dict[int, Any] = {}  # nbgrader's cells (``NotebookNode``), as nbclient hands them over
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
