"""The catalogue of disguised copies: each rewrites a copy of a TP's reference submission as a copier would.

Every disguise is a function ``disguise(folder, assignment)`` that changes the submission in
``folder`` in place: its notebook's solution code cells and its ``.py`` files (each rewrite keeps
them Python that parses: they are parsed here, never run), or its written answers.
:data:`DISGUISES` names them; a disguise that needs something the TP lacks (a written answer)
returns False and is not applied.
"""

import ast
import re
from collections.abc import Callable
from pathlib import Path

import nbformat

PADDING = 100_000  # characters of the comment put at the top


def _solution_cells(notebook, kind: str = "code") -> list:
    return [
        cell
        for cell in notebook.cells
        if cell.cell_type == kind and cell.metadata.get("nbgrader", {}).get("solution")
    ]


def _each_piece(folder: Path, assignment: str, rewrite: Callable[[str], str]) -> None:
    """Apply ``rewrite`` to every solution code cell of the notebook and every ``.py`` file."""
    path = folder / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in _solution_cells(notebook):
        cell.source = rewrite(cell.source)
        ast.parse(cell.source)
    nbformat.write(notebook, path)
    for script in sorted(folder.rglob("*.py")):
        script.write_text(rewrite(script.read_text()))
        ast.parse(script.read_text())


def _edit(source: str, edits: list[tuple[int, int, str]]) -> str:
    """``source`` with each ``(line, column, text)`` inserted, line 1-based and column in characters."""
    lines = source.splitlines(keepends=True)
    for line, column, text in sorted(edits, reverse=True):
        lines[line - 1] = lines[line - 1][:column] + text + lines[line - 1][column:]
    return "".join(lines)


def _in_fstring(tree: ast.AST) -> set[int]:
    return {id(n) for joined in ast.walk(tree) if isinstance(joined, ast.JoinedStr) for n in ast.walk(joined)}


def rename_source(source: str) -> str:
    """Every variable and argument the piece binds renamed (``lr`` becomes ``my_lr``); layout kept."""
    tree = ast.parse(source)
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    bound |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    skip = _in_fstring(tree)
    edits = []
    for node in ast.walk(tree):
        name = node.id if isinstance(node, ast.Name) else node.arg if isinstance(node, ast.arg) else None
        if name in bound and id(node) not in skip and node.lineno == node.end_lineno:
            edits.append((node.lineno, node.col_offset, "my_"))
    return _edit(source, edits)


def parenthesise_source(source: str) -> str:
    """Every name that is read wrapped in parentheses: ``p - lr * g`` becomes ``(p) - (lr) * (g)``."""
    tree = ast.parse(source)
    skip = _in_fstring(tree)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and id(node) not in skip:
            edits += [(node.lineno, node.col_offset, "("), (node.end_lineno, node.end_col_offset, ")")]
    return _edit(source, edits)


def _names(node: ast.AST) -> tuple[set[str], set[str]]:
    names = [n for n in ast.walk(node) if isinstance(n, ast.Name)]
    return {n.id for n in names if isinstance(n.ctx, ast.Store)}, {n.id for n in names}


def _swappable(first: ast.stmt, second: ast.stmt) -> bool:
    simple = (ast.Assign, ast.AugAssign, ast.AnnAssign)
    if not (isinstance(first, simple) and isinstance(second, simple)):
        return False
    if first.lineno != first.end_lineno or second.lineno != second.end_lineno:
        return False
    (stored_1, used_1), (stored_2, used_2) = _names(first), _names(second)
    return not (stored_1 & used_2 or stored_2 & used_1)


def reorder_source(source: str) -> str:
    """Adjacent independent assignments of every function swapped, and the top-level functions reversed."""
    lines = source.splitlines(keepends=True)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            index = 0
            while index + 1 < len(node.body):
                first, second = node.body[index], node.body[index + 1]
                if _swappable(first, second):
                    lines[first.lineno - 1], lines[second.lineno - 1] = (
                        lines[second.lineno - 1],
                        lines[first.lineno - 1],
                    )
                    index += 2
                else:
                    index += 1
    source = "".join(lines)
    functions = [n for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    if len(functions) < 2:
        return source
    lines = source.splitlines(keepends=True)
    starts = [min([f.lineno, *(d.lineno for d in f.decorator_list)]) - 1 for f in functions]
    ends = [*starts[1:], functions[-1].end_lineno]
    blocks = ["".join(lines[start:end]).rstrip("\n") + "\n\n\n" for start, end in zip(starts, ends)]
    return "".join(lines[: starts[0]]) + "".join(reversed(blocks)) + "".join(lines[ends[-1] :])


DEAD = ("pass", "_scratch = 0", "if False:\n{indent}    print('debug')", "'a note to self'")


def dead_code_source(source: str) -> str:
    """Dead statements after every statement of every function: ``pass``, an unused assignment,
    an ``if False:`` body, a bare string."""
    edits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for number, statement in enumerate(node.body):
                indent = " " * statement.col_offset
                dead = DEAD[number % len(DEAD)].format(indent=indent)
                edits.append(
                    (
                        statement.end_lineno,
                        len(source.splitlines()[statement.end_lineno - 1]),
                        f"\n{indent}{dead}",
                    )
                )
    return _edit(source, edits)


def rename(folder: Path, assignment: str) -> bool:
    """Renamed: every variable and argument of the reference's code renamed."""
    _each_piece(folder, assignment, rename_source)
    return True


def parenthesise(folder: Path, assignment: str) -> bool:
    """Parenthesised: every name the reference's code reads wrapped in parentheses."""
    _each_piece(folder, assignment, parenthesise_source)
    return True


def reorder(folder: Path, assignment: str) -> bool:
    """Reordered: independent statements swapped, functions reversed, solution cells in reverse order."""
    _each_piece(folder, assignment, reorder_source)
    path = folder / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cells = _solution_cells(notebook)
    for cell, source in zip(cells, [cell.source for cell in cells][::-1]):
        cell.source = source
    nbformat.write(notebook, path)
    return True


def dead_code(folder: Path, assignment: str) -> bool:
    """Dead code: ``pass``, unused assignments, ``if False:`` bodies, bare strings inserted everywhere."""
    _each_piece(folder, assignment, dead_code_source)
    return True


def pad(folder: Path, assignment: str) -> bool:
    """Comment padding: a 100,000-character comment at the top of the first solution cell."""
    path = folder / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    first = _solution_cells(notebook)[0]
    first.source = "# " + "padding " * (PADDING // 8) + "\n" + first.source
    nbformat.write(notebook, path)
    return True


def everything(folder: Path, assignment: str) -> bool:
    """All at once: reordered, dead code, renamed, parenthesised, then padded."""
    for disguise in (reorder, dead_code, rename, parenthesise, pad):
        disguise(folder, assignment)
    return True


def reword(text: str) -> str:
    """A copied paragraph lightly disguised: case changed, punctuation changed, one sentence added."""
    text = re.sub(r"[,;:]", " -", text).upper()
    return "My own analysis follows.\n\n" + text.replace(". ", "! ")


def copied_analysis(folder: Path, assignment: str, reference: Path | None = None) -> bool:
    """A copied analysis: an otherwise independent submission whose written answer is the reference's."""
    path = folder / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    own = _solution_cells(notebook, "markdown")
    if not own or reference is None:
        return False
    theirs = _solution_cells(nbformat.read(reference / f"{assignment}.ipynb", as_version=4), "markdown")
    for cell, source in zip(own, (cell.source for cell in theirs)):
        cell.source = reword(source)
    nbformat.write(notebook, path)
    return True


# Each disguise of a copy of the reference; ``copied_analysis`` is applied to an independent solution.
DISGUISES = {
    "renamed": rename, "parenthesised": parenthesise, "reordered": reorder, "dead code": dead_code,
    "comment padding": pad, "all of them": everything,
}  # fmt: skip
