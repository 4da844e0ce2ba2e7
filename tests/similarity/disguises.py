"""The catalogue of disguised copies: each rewrites a copy of a TP's reference submission as a copier would.

Every disguise is a function ``disguise(folder, assignment)`` that changes the submission in
``folder`` in place: its notebook's solution code cells and its ``.py`` files (each rewrite keeps
them Python that parses: they are parsed here, never run), or its written answers.
:data:`DISGUISES` names them; a disguise that needs something the TP lacks (a written answer)
returns False and is not applied.
"""

import ast
import base64
import re
import zlib
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


class _ToMap(ast.NodeTransformer):
    """``[e for x, y in zip(A, B)]`` becomes ``list(map(lambda x, y: e, A, B))`` (one loop, no filter)."""

    def visit_ListComp(self, node):
        self.generic_visit(node)
        if len(node.generators) != 1 or node.generators[0].ifs or node.generators[0].is_async:
            return node
        loop = node.generators[0]
        if isinstance(loop.target, ast.Name):
            names, iterables = [loop.target.id], [loop.iter]
        elif (
            isinstance(loop.target, ast.Tuple)
            and all(isinstance(e, ast.Name) for e in loop.target.elts)
            and isinstance(loop.iter, ast.Call)
            and isinstance(loop.iter.func, ast.Name)
            and loop.iter.func.id == "zip"
            and len(loop.iter.args) == len(loop.target.elts)
            and not loop.iter.keywords
        ):
            names, iterables = [e.id for e in loop.target.elts], loop.iter.args
        else:
            return node
        arguments = ast.arguments([], [ast.arg(n) for n in names], None, [], [], None, [])
        mapped = ast.Call(ast.Name("map", ast.Load()), [ast.Lambda(arguments, node.elt), *iterables], [])
        return ast.Call(ast.Name("list", ast.Load()), [mapped], [])


class _SwapOperands(ast.NodeTransformer):
    """Operands of every ``+`` and ``*`` swapped, ``a < b`` written ``b > a`` (``<=`` as ``>=``)."""

    FLIPPED = {ast.Lt: ast.Gt, ast.LtE: ast.GtE}

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.Add, ast.Mult)):
            node.left, node.right = node.right, node.left
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) == 1 and type(node.ops[0]) in self.FLIPPED:
            return ast.Compare(node.comparators[0], [self.FLIPPED[type(node.ops[0])]()], [node.left])
        return node


class _ToLoops(ast.NodeTransformer):
    """``name = [e for x in A]`` becomes ``name = []`` and ``for x in A: name.append(e)``."""

    def visit_Assign(self, node):
        self.generic_visit(node)
        value = node.value
        if not (
            len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(value, ast.ListComp)
            and len(value.generators) == 1
            and not value.generators[0].ifs
        ):
            return node
        name = node.targets[0].id
        append = ast.Call(ast.Attribute(ast.Name(name, ast.Load()), "append", ast.Load()), [value.elt], [])
        loop = value.generators[0]
        return [
            ast.Assign([ast.Name(name, ast.Store())], ast.List([], ast.Load())),
            ast.For(loop.target, loop.iter, [ast.Expr(append)], []),
        ]


class _SqrtToPower(ast.NodeTransformer):
    """``np.sqrt(x)`` becomes ``x ** 0.5``."""

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "sqrt" and len(node.args) == 1:
            return ast.BinOp(node.args[0], ast.Pow(), ast.Constant(0.5))
        return node


TRACE = "def _trace(value):\n    return value\n\n\n"


class _Trace(ast.NodeTransformer):
    """``_trace(name)``, an identity helper's call, after every assignment to a name in a function."""

    def _block(self, body: list) -> list:
        found = []
        for statement in body:
            found.append(statement)
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
                call = ast.Call(
                    ast.Name("_trace", ast.Load()), [ast.Name(statement.targets[0].id, ast.Load())], []
                )
                found.append(ast.Expr(call))
        return found

    def generic_visit(self, node):
        super().generic_visit(node)
        for name in ("body", "orelse"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(node, name, self._block(block))
        return node


def _rewriter(transformer: type[ast.NodeTransformer], prefix: str = "") -> Callable[[str], str]:
    def rewrite(source: str) -> str:
        tree = ast.fix_missing_locations(transformer().visit(ast.parse(source)))
        return prefix + ast.unparse(tree) + "\n"

    return rewrite


def to_map(folder: Path, assignment: str) -> bool:
    """Map: list comprehensions written ``list(map(lambda …, A, B))``."""
    _each_piece(folder, assignment, _rewriter(_ToMap))
    return True


def swap_operands(folder: Path, assignment: str) -> bool:
    """Operands swapped: ``b + a`` for ``a + b``, ``b * a`` for ``a * b``, ``b > a`` for ``a < b``."""
    _each_piece(folder, assignment, _rewriter(_SwapOperands))
    return True


def to_loops(folder: Path, assignment: str) -> bool:
    """Loops: ``name = [comprehension]`` written as a ``for`` loop of ``name.append``."""
    _each_piece(folder, assignment, _rewriter(_ToLoops))
    return True


def sqrt_to_power(folder: Path, assignment: str) -> bool:
    """Powers: ``np.sqrt(x)`` written ``x ** 0.5``."""
    _each_piece(folder, assignment, _rewriter(_SqrtToPower))
    return True


def trace(folder: Path, assignment: str) -> bool:
    """Identity calls: ``_trace(name)`` after every assignment, ``_trace`` defined in every piece."""
    _each_piece(folder, assignment, _rewriter(_Trace, TRACE))
    return True


def swap_and_map(folder: Path, assignment: str) -> bool:
    """Operands swapped, then comprehensions written with ``map``."""
    return swap_operands(folder, assignment) and to_map(folder, assignment)


def seven_stacked(folder: Path, assignment: str) -> bool:
    """Seven rewrites stacked: loops, map, operands swapped, powers, identity calls, renamed, reordered."""
    for disguise in (to_loops, to_map, swap_operands, sqrt_to_power, trace, rename, reorder):
        disguise(folder, assignment)
    return True


def added_cells(folder: Path, assignment: str) -> bool:
    """Added cells: each solution cell's code, functions renamed ``_name``, in a new cell before it (a
    cell the student adds carries no nbgrader marking), and the solution cell reduced to ``name = _name``."""
    path = folder / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cells = []
    for cell in notebook.cells:
        if cell in _solution_cells(notebook):
            tree = ast.parse(cell.source)
            defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    node.name = f"_{node.name}"
            cells.append(nbformat.v4.new_code_cell(ast.unparse(tree)))
            cell.source = "".join(f"{name} = _{name}\n" for name in defined) or cell.source
        cells.append(cell)
    notebook.cells = cells
    nbformat.write(notebook, path)
    return True


def run_from_string(folder: Path, assignment: str) -> bool:
    """Run from a string: every solution cell's code compressed, encoded and run by ``exec``."""

    def hide(source: str) -> str:
        packed = base64.b64encode(zlib.compress(source.encode())).decode()
        return f"import base64, zlib\nexec(zlib.decompress(base64.b64decode('{packed}')))\n"

    _each_piece(folder, assignment, hide)
    return True


def run_from_file(folder: Path, assignment: str) -> bool:
    """Run from a file: the solution cells' code in ``impl.txt``, each cell
    ``exec(open('impl.txt').read())``."""
    path = folder / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    code = []
    for cell in _solution_cells(notebook):
        code.append(cell.source)
        cell.source = "exec(open('impl.txt').read())\n"
    (folder / "impl.txt").write_text("\n\n".join(code))
    nbformat.write(notebook, path)
    return True


# Each disguise of a copy of the reference; ``copied_analysis`` is applied to an independent solution.
DISGUISES = {
    "renamed": rename,
    "parenthesised": parenthesise,
    "reordered": reorder,
    "dead code": dead_code,
    "comment padding": pad,
    "all of them": everything,
    "map": to_map,
    "operands swapped": swap_operands,
    "loops": to_loops,
    "powers": sqrt_to_power,
    "identity calls": trace,
    "swapped and map": swap_and_map,
    "seven stacked": seven_stacked,
    "added cells": added_cells,
}
# Copies that hide their code from any comparison: each must be flagged for a manual look.
HIDDEN = {"run from a string": run_from_string, "run from a file": run_from_file}
