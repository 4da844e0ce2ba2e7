"""Python code in a canonical form, so that the mechanical rewrites of a copy change nothing.

A piece of code (a notebook cell, a ``.py`` file) is parsed with :mod:`ast`, never run, and
rewritten before it is compared:

* **Layout, comments, docstrings, parentheses**: the tree is written back with :func:`ast.unparse`,
  which keeps no comment and no parenthesis that the grammar does not need (``(p) - (lr) * (g)``
  becomes ``p - lr * g``); docstrings and other bare constants are dropped.
* **Dead statements**: ``pass``, bare constants, the bodies of ``if False:`` and ``while 0:``, and,
  inside a function, an assignment to a name that the function never reads, are dropped.
* **Order**: in every block, statements that do not depend on each other (neither writes a name
  the other reads or writes, ``self.a`` and ``self.b`` being apart; a method call on a variable of
  the scope writes it, ``np.mean(x)`` writes nothing; ``return``, ``raise``, ``yield``... keep
  their place) are put in one canonical order: a topological order of the
  block's dependencies where, among the statements free to come next, the smallest normalised
  text comes first. Swapping two independent statements, or moving functions, changes nothing.
* **Units**: each top-level function or class, and each run of other top-level statements, is a
  :class:`Unit`, compared on its own: moving a function to another cell changes nothing either.
* **Names and literals**: each unit's code is cut into tokens where every name (a variable, an
  argument, a function's name, a keyword argument's name) becomes ``V``, every number ``N`` and
  every string ``S``; keywords, operators and attributes (``.mean``) stay as they are.

IPython's ``%`` and ``!`` lines are removed first. A piece that still does not parse (a syntax
error, a tree too deep) is cut into tokens as written, with the same names and literals made ``V``, ``N``, ``S``: comments and
layout still do not count, but parentheses and order do; :attr:`Normalised.parsed` says which.
"""

import ast
import io
import keyword
import re
import tokenize
from dataclasses import dataclass, field

MAX_REORDERED = 200  # statements in one block: a longer block keeps its order
_MAGIC = re.compile(r"^[ \t]*[%!].*$", re.MULTILINE)  # IPython's magics and shell escapes
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_MARKS = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}"}
_BARRIERS = (
    ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom, ast.Await,
    ast.Global, ast.Nonlocal,
)  # fmt: skip
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


@dataclass
class Unit:
    """A top-level function or class, or a run of other top-level statements, in canonical form."""

    name: str  # ``def sgd_step``, ``class Net``, or ``statements``
    code: str  # as shown: the canonical code, with the student's names
    tokens: list[str]  # as compared: names ``V``, numbers ``N``, strings ``S``
    spans: list[tuple[int, int]]  # each token's place in ``code``


@dataclass
class Normalised:
    """A piece's units, and whether it parsed (else it was cut into tokens as written)."""

    units: list[Unit] = field(default_factory=list)
    parsed: bool = True


def tokens(code: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The normalised tokens of ``code`` and their ``(start, end)`` in it; a lexing error ends them."""
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    found, spans, previous = [], [], ""
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type in _SKIPPED or (token.type == tokenize.DEDENT and not found):
                continue
            if token.type == tokenize.NAME:
                text = token.string if keyword.iskeyword(token.string) or previous == "." else "V"
            elif token.type == tokenize.NUMBER:
                text = "N"
            elif token.type == tokenize.STRING:
                text = "S"
            else:
                text = _MARKS.get(token.type, token.string)
            start = starts[token.start[0] - 1] + token.start[1]
            end = starts[token.end[0] - 1] + token.end[1] if token.string else start
            found.append(text)
            spans.append((start, max(start, end)))
            previous = token.string
    except (tokenize.TokenError, SyntaxError):
        pass  # what was read so far is kept
    return found, spans


def _key(node: ast.AST) -> str:
    return " ".join(tokens(ast.unparse(node))[0])


def _path(node: ast.AST) -> str | None:
    """``a.b.c`` for an attribute chain on a name (``a`` for the name itself), else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def _effects(statement: ast.stmt, local: set[str]) -> tuple[set[str], set[str], bool]:
    """The names and attribute paths ``statement`` reads and writes, and whether it must keep its
    place. A method call writes its receiver when the receiver is one of the ``local`` names (a
    module's function, ``np.mean(x)``, writes nothing)."""
    reads: set[str] = set()
    writes: set[str] = set()
    barrier = False
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        barrier |= isinstance(node, _BARRIERS)
        path = _path(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if path and isinstance(node.ctx, ast.Load):
            reads.add(path)
            continue
        if path:
            writes.add(path)
            continue
        if isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load) and _path(node.value):
            writes.add(_path(node.value))
            pending.append(node.slice)
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = _path(node.func.value)
            if receiver and receiver.split(".")[0] in local:
                writes.add(receiver)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            writes |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        if isinstance(node, _SCOPES):  # a body runs later: only what is evaluated now counts
            if not isinstance(node, ast.Lambda):
                writes.add(node.name)
            pending += [*getattr(node, "decorator_list", []), *getattr(node, "bases", [])]
            if not isinstance(node, ast.ClassDef):
                pending += [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            continue
        pending += ast.iter_child_nodes(node)
    return reads, writes, barrier


def _overlap(first: set[str], second: set[str]) -> bool:
    """Whether a name or attribute path of ``first`` is, holds or lies within one of ``second``."""
    return any(a == b or a.startswith(f"{b}.") or b.startswith(f"{a}.") for a in first for b in second)


def _bound(scope: ast.AST) -> set[str]:
    """The names a scope binds by assignment or as arguments (not by ``import``)."""
    found = {n.id for n in ast.walk(scope) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    return found | {a.arg for a in ast.walk(scope) if isinstance(a, ast.arg)}


def canonical_order(body: list[ast.stmt], local: set[str] = frozenset()) -> list[ast.stmt]:
    """``body`` in its canonical order: dependencies kept, independent statements by normalised text
    (``local``: the names bound in its scope, see :func:`_effects`)."""
    if len(body) < 2 or len(body) > MAX_REORDERED:
        return body
    effects = [_effects(statement, local) for statement in body]
    keys = [_key(statement) for statement in body]
    before: list[set[int]] = [set() for _ in body]
    for later, (reads, writes, barrier) in enumerate(effects):
        for earlier in range(later):
            reads_e, writes_e, barrier_e = effects[earlier]
            if barrier or barrier_e or _overlap(writes_e, reads | writes) or _overlap(writes, reads_e):
                before[later].add(earlier)
    placed: list[int] = []
    done: set[int] = set()
    while len(placed) < len(body):
        ready = [i for i in range(len(body)) if i not in done and before[i] <= done]
        chosen = min(ready, key=lambda i: (keys[i], i))
        placed.append(chosen)
        done.add(chosen)
    return [body[i] for i in placed]


def _constant_test(node: ast.expr) -> bool | None:
    """The truth of a test that is a constant (``False``, ``0``, ``''``...), else None."""
    return bool(node.value) if isinstance(node, ast.Constant) else None


class _Canonical(ast.NodeTransformer):
    """Drops dead statements and puts every block in canonical order (see the module's docstring)."""

    def __init__(self):
        self.scopes: list[set[str]] = [set()]  # the names bound in each enclosing scope

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                kept = canonical_order(self._live(block), self.scopes[-1])
                setattr(node, name, kept or ([ast.Pass()] if name == "body" else []))
        return node

    @staticmethod
    def _live(block: list[ast.stmt]) -> list[ast.stmt]:
        kept: list[ast.stmt] = []
        for statement in block:
            if isinstance(statement, ast.Pass):
                continue
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                continue
            if isinstance(statement, (ast.If, ast.While)):
                truth = _constant_test(statement.test)
                if truth is False:
                    kept += [s for s in statement.orelse if not isinstance(s, ast.Pass)]
                    continue
                if truth is True and isinstance(statement, ast.If):
                    kept += [s for s in statement.body if not isinstance(s, ast.Pass)]
                    continue
            kept.append(statement)
        return kept

    def _in_scope(self, node: ast.AST) -> ast.AST:
        self.scopes.append(_bound(node))
        try:
            return self.generic_visit(node)
        finally:
            self.scopes.pop()

    def visit_Module(self, node):
        return self._in_scope(node)

    def visit_FunctionDef(self, node):
        _drop_unread(node)
        return self._in_scope(node)

    visit_AsyncFunctionDef = visit_FunctionDef


def _drop_unread(function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    """Drop, anywhere in ``function``, the assignments to local names that it never reads."""
    read = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    for node in ast.walk(function):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            read |= set(node.names)

    def unread(target: ast.expr) -> bool:
        if isinstance(target, (ast.Tuple, ast.List)):
            return all(unread(element) for element in target.elts)
        return isinstance(target, ast.Name) and target.id not in read

    for node in ast.walk(function):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(node, name, [s for s in block if not _dead_assignment(s, unread)])


def _dead_assignment(statement: ast.stmt, unread) -> bool:
    if isinstance(statement, ast.Assign):
        return all(unread(target) for target in statement.targets)
    if isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        return unread(statement.target)
    return False


def _unit_name(statement: ast.stmt) -> str:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"def {statement.name}"
    if isinstance(statement, ast.ClassDef):
        return f"class {statement.name}"
    return "statements"


def _unit(name: str, code: str) -> Unit:
    found, spans = tokens(code)
    return Unit(name, code, found, spans)


def normalise(source: str) -> Normalised:
    """``source`` (one piece of Python) as canonical units; as tokens written if it does not parse."""
    source = _MAGIC.sub("", source)
    try:
        tree = _Canonical().visit(ast.parse(source))
        units: list[Unit] = []
        loose: list[ast.stmt] = []
        for statement in tree.body:
            if _unit_name(statement) == "statements":
                loose.append(statement)
                continue
            if loose:
                units.append(_unit("statements", ast.unparse(ast.Module(loose, []))))
                loose = []
            units.append(_unit(_unit_name(statement), ast.unparse(statement)))
        if loose:
            units.append(_unit("statements", ast.unparse(ast.Module(loose, []))))
        return Normalised(units)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return Normalised([_unit("as written", source)] if source.strip() else [], parsed=False)
