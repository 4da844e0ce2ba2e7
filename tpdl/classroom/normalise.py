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
* **Expressions**: the operands of ``+``, ``*``, ``&``, ``|``, ``^``, ``==``, ``!=``, ``and`` and
  ``or`` are sorted by their normalised text; ``b > a`` is written ``a < b`` (``>=`` as ``<=``);
  ``a += b`` is ``a = a + b``; ``map(lambda x, y: e, A, B)`` is ``(e for x, y in zip(A, B))``,
  ``list(<comprehension>)`` is ``[<comprehension>]``, and ``name = []`` followed by a loop whose
  body is only ``name.append(e)`` is ``name = [e for ...]``; ``sqrt(x)`` is ``x ** 0.5``; a call
  of an identity helper (a function that returns its only argument) is its argument. Meaning is
  not always kept (``+`` of lists does not commute): the form serves only to compare.
* **Units**: each top-level function or class, and each run of other top-level statements, is a
  :class:`Unit`, compared on its own: moving a function to another cell changes nothing either.
* **Names and literals**: each unit's code is cut into tokens where every name (a variable, an
  argument, a function's name, a keyword argument's name) becomes ``V``, every number ``N`` and
  every string ``S``; keywords, operators and attributes (``.mean``) stay as they are.

IPython's ``%`` and ``!`` lines are removed first. The work is bounded before it is done: only a
piece's first tokens, as many as the caller's budget, are parsed, and a block of over
:data:`MAX_REORDERED` statements or :data:`MAX_REORDERED_NAMES` names keeps its order (both are
reported, :attr:`Normalised.cut` and :attr:`Normalised.unordered`). A piece that still does not
parse (a syntax error, a tree too deep) is cut into tokens as written, with the same names and
literals made ``V``, ``N``, ``S``: comments and layout still do not count, but parentheses and
order do; :attr:`Normalised.parsed` says which.
"""

import ast
import copy
import io
import keyword
import re
import tokenize
from dataclasses import dataclass, field

MAX_REORDERED = 200  # statements in one block: a longer block keeps its order, noted
MAX_REORDERED_NAMES = 4_000  # names and attribute paths read or written in one block: likewise
MAX_SOURCE_TOKENS = 40_000  # tokens of a piece as written that are parsed at all: the rest is cut, noted
_MAGIC = re.compile(r"^[ \t]*[%!].*$", re.MULTILINE)  # IPython's magics and shell escapes
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_MARKS = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}"}
_BARRIERS = (
    ast.Return,
    ast.Raise,
    ast.Break,
    ast.Continue,
    ast.Yield,
    ast.YieldFrom,
    ast.Await,
    ast.Global,
    ast.Nonlocal,
)
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
    """A piece's units, whether it parsed (else it was cut into tokens as written), and what to look at."""

    units: list[Unit] = field(default_factory=list)
    parsed: bool = True
    cut: bool = False  # only its first tokens, as many as the budget, were parsed
    unordered: int = 0  # blocks too large to reorder, left in their order
    runs_code: list[str] = field(default_factory=list)  # what runs code held as data (exec of a string...)
    identities: set[str] = field(default_factory=set)  # the identity helpers known after it


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


def _prefixes(paths: set[str]) -> set[str]:
    """Every path of ``paths`` and every path it lies within (``a.b.c``: ``a``, ``a.b``, ``a.b.c``)."""
    found = set()
    for path in paths:
        parts = path.split(".")
        found |= {".".join(parts[:end]) for end in range(1, len(parts) + 1)}
    return found


def _bound(scope: ast.AST) -> set[str]:
    """The names a scope binds by assignment or as arguments (not by ``import``)."""
    found = {n.id for n in ast.walk(scope) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    return found | {a.arg for a in ast.walk(scope) if isinstance(a, ast.arg)}


def canonical_order(body: list[ast.stmt], local: set[str] = frozenset()) -> list[ast.stmt] | None:
    """``body`` in its canonical order: dependencies kept, independent statements by normalised text
    (``local``: the names bound in its scope, see :func:`_effects`); None for a block too large to
    reorder (over :data:`MAX_REORDERED` statements or :data:`MAX_REORDERED_NAMES` names)."""
    if len(body) < 2:
        return body
    if len(body) > MAX_REORDERED:
        return None
    effects = [_effects(statement, local) for statement in body]
    if sum(len(reads) + len(writes) for reads, writes, _ in effects) > MAX_REORDERED_NAMES:
        return None
    keys = [_key(statement) for statement in body]
    reached = [(_prefixes(reads), _prefixes(writes)) for reads, writes, _ in effects]
    before: list[set[int]] = [set() for _ in body]
    for later, (reads, writes, barrier) in enumerate(effects):
        for earlier in range(later):
            reads_e, writes_e, barrier_e = effects[earlier]
            if (
                barrier
                or barrier_e
                or not writes_e.isdisjoint(reached[later][0] | reached[later][1])
                or not (reads | writes).isdisjoint(reached[earlier][1])
                or not writes.isdisjoint(reached[earlier][0])
                or not reads_e.isdisjoint(reached[later][1])
            ):
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


_COMMUTATIVE = (ast.Add, ast.Mult, ast.BitAnd, ast.BitOr, ast.BitXor)
_FLIPPED = {ast.Gt: ast.Lt, ast.GtE: ast.LtE}
_RUNS_CODE = {"exec", "eval", "compile", "__import__"}  # builtins that run code given as data
_LOADS_FILE = {
    "spec_from_file_location",
    "SourceFileLoader",
    "SourcelessFileLoader",
    "run_path",
    "run_module",
}


def _shape(node: ast.AST, memo: dict) -> str:
    """A node's normalised text, names as ``V`` and literals as ``N`` or ``S`` (remembered in ``memo``)."""
    if node in memo:
        return memo[node]
    if isinstance(node, ast.Name):
        found = "V"
    elif isinstance(node, ast.Constant):
        found = (
            "S"
            if isinstance(node.value, (str, bytes))
            else repr(node.value)
            if node.value in (None, True, False)
            else "N"
        )
    else:
        parts = [type(node).__name__]
        for name, value in ast.iter_fields(node):
            if name in ("id", "arg", "name", "ctx", "type_comment"):
                continue
            if isinstance(value, ast.AST):
                parts.append(_shape(value, memo))
            elif isinstance(value, list):
                parts.append(
                    "[" + ",".join(_shape(v, memo) if isinstance(v, ast.AST) else str(v) for v in value) + "]"
                )
            else:
                parts.append(str(value))
        found = "(" + " ".join(parts) + ")"
    memo[node] = found
    return found


def _identities(tree: ast.AST) -> set[str]:
    """The functions of ``tree`` that return their only argument unchanged (``def f(x): return x``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and len(node.args.args) == 1:
            body = [
                s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
            ]
            if (
                len(body) == 1
                and isinstance(body[0], ast.Return)
                and isinstance(body[0].value, ast.Name)
                and body[0].value.id == node.args.args[0].arg
            ):
                found.add(node.name)
    return found


def runs_code(tree: ast.AST) -> list[str]:
    """What in ``tree`` runs code held as data (a string, a file): the builtin ``exec`` (``eval``,
    ``compile``, ``__import__``) of anything but a literal, ``runpy``, a module loaded from a file that
    is not ``.py``, ``getattr`` of such a builtin (``model.compile()`` is no builtin)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        builtin = isinstance(node.func, ast.Name) or _path(node.func) in {
            f"builtins.{name}",
            f"__builtins__.{name}",
        }
        literal = [isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args]
        if name in _RUNS_CODE and builtin and not (literal and literal[0]):
            found.append(f"{name}() of code that is not a literal")
        elif name in _LOADS_FILE and not any(
            isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.endswith(".py")
            for a in node.args
        ):
            found.append(f"{name}() of a file that is not a .py")
        elif name == "getattr" and any(
            isinstance(a, ast.Constant) and a.value in _RUNS_CODE for a in node.args
        ):
            found.append("getattr() of a builtin that runs code")
    return found


class _Canonical(ast.NodeTransformer):
    """Drops dead statements and puts every block and expression in canonical form (the module says how)."""

    def __init__(self, identities: set[str] = frozenset()):
        self.scopes: list[set[str]] = [set()]  # the names bound in each enclosing scope
        self.identities = set(identities)  # functions that return their argument: their calls are dropped
        self.unordered = 0  # blocks too large to reorder
        self.memo: dict = {}

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                live = self._live(block)
                kept = canonical_order(live, self.scopes[-1])
                if kept is None:
                    self.unordered += 1
                    kept = live
                setattr(node, name, kept or ([ast.Pass()] if name == "body" else []))
        return node

    def _key(self, node: ast.AST) -> str:
        return _shape(node, self.memo)

    def _live(self, block: list[ast.stmt]) -> list[ast.stmt]:
        kept: list[ast.stmt] = []
        for statement in block:
            if isinstance(statement, ast.Pass):
                continue
            if isinstance(statement, ast.Expr) and isinstance(statement.value, (ast.Constant, ast.Name)):
                continue
            if isinstance(statement, (ast.If, ast.While)):
                truth = _constant_test(statement.test)
                if truth is False:
                    kept += [s for s in statement.orelse if not isinstance(s, ast.Pass)]
                    continue
                if truth is True and isinstance(statement, ast.If):
                    kept += [s for s in statement.body if not isinstance(s, ast.Pass)]
                    continue
            if isinstance(statement, ast.For) and self._gathered(kept, statement):
                continue
            kept.append(statement)
        return kept

    @staticmethod
    def _gathered(kept: list[ast.stmt], loop: ast.For) -> bool:
        """Whether ``loop`` (``for x in A: name.append(e)``) was merged, in its place, with an earlier
        ``name = []`` of ``kept`` that nothing in between uses."""
        if not _appends(loop):
            return False
        target = loop.body[0].value.func.value.id
        for index in range(len(kept) - 1, -1, -1):
            gathered = _gathering(kept[index], loop)
            if gathered:
                del kept[index]
                kept.append(gathered)
                return True
            if any(isinstance(n, ast.Name) and n.id == target for n in ast.walk(kept[index])):
                return False
        return False
        return False

    def _in_scope(self, node: ast.AST) -> ast.AST:
        self.scopes.append(_bound(node))
        try:
            return self.generic_visit(node)
        finally:
            self.scopes.pop()

    def visit_Module(self, node):
        self.identities |= _identities(node)
        return self._in_scope(node)

    def visit_FunctionDef(self, node):
        _drop_unread(node)
        return self._in_scope(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _commuted(self, node: ast.BinOp) -> ast.BinOp:
        if isinstance(node.op, _COMMUTATIVE) and self._key(node.right) < self._key(node.left):
            node.left, node.right = node.right, node.left
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        return self._commuted(node)

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        node.values.sort(key=self._key)
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        if all(type(op) in _FLIPPED for op in node.ops):
            operands = [node.left, *node.comparators][::-1]
            node.left, node.comparators = operands[0], operands[1:]
            node.ops = [_FLIPPED[type(op)]() for op in reversed(node.ops)]
        elif len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            if self._key(node.comparators[0]) < self._key(node.left):
                node.left, node.comparators = node.comparators[0], [node.left]
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        target = _loaded(node.target)
        assigned = ast.Assign([node.target], self._commuted(ast.BinOp(target, node.op, node.value)))
        return ast.copy_location(assigned, node)

    def visit_Call(self, node):
        self.generic_visit(node)
        single = len(node.args) == 1 and not node.keywords and not isinstance(node.args[0], ast.Starred)
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if single and name in self.identities:
            return node.args[0]
        if single and (name or getattr(node.func, "attr", None)) == "sqrt":
            return ast.BinOp(node.args[0], ast.Pow(), ast.Constant(0.5))
        if single and name == "list" and isinstance(node.args[0], (ast.ListComp, ast.GeneratorExp)):
            return ast.ListComp(node.args[0].elt, node.args[0].generators)
        if name == "map" and not node.keywords and node.args and isinstance(node.args[0], ast.Lambda):
            return _mapped(node.args[0], node.args[1:]) or node
        return node


def _loaded(target: ast.expr) -> ast.expr:
    """A copy of an assignment's target that reads it."""
    copied = copy.deepcopy(target)
    copied.ctx = ast.Load()
    return copied


def _mapped(function: ast.Lambda, iterables: list[ast.expr]) -> ast.GeneratorExp | None:
    """``map(lambda x, y: e, A, B)`` as ``(e for x, y in zip(A, B))``; None for another lambda."""
    arguments = function.args
    if (
        arguments.posonlyargs
        or arguments.vararg
        or arguments.kwonlyargs
        or arguments.kwarg
        or arguments.defaults
    ):
        return None
    if len(arguments.args) != len(iterables) or not iterables:
        return None
    names = [ast.Name(a.arg, ast.Store()) for a in arguments.args]
    if len(names) == 1:
        target, source = names[0], iterables[0]
    else:
        target, source = ast.Tuple(names, ast.Store()), ast.Call(ast.Name("zip", ast.Load()), iterables, [])
    return ast.GeneratorExp(function.body, [ast.comprehension(target, source, [], 0)])


def _appends(loop: ast.For) -> bool:
    """Whether ``loop`` is ``for x in A: name.append(e)``, with no ``else``."""
    if loop.orelse or len(loop.body) != 1 or not isinstance(loop.body[0], ast.Expr):
        return False
    call = loop.body[0].value
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "append"
        and isinstance(call.func.value, ast.Name)
        and len(call.args) == 1
        and not isinstance(call.args[0], ast.Starred)
        and not call.keywords
    )


def _gathering(first: ast.stmt, loop: ast.For) -> ast.Assign | None:
    """``name = []`` then ``for x in A: name.append(e)`` as ``name = [e for x in A]``; else None."""
    if not (
        _appends(loop)
        and isinstance(first, ast.Assign)
        and len(first.targets) == 1
        and isinstance(first.targets[0], ast.Name)
        and isinstance(first.value, ast.List)
        and not first.value.elts
        and loop.body[0].value.func.value.id == first.targets[0].id
    ):
        return None
    element = loop.body[0].value.args[0]
    gathered = ast.ListComp(element, [ast.comprehension(loop.target, loop.iter, [], 0)])
    return ast.copy_location(ast.Assign(first.targets, gathered), first)


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


def _within(source: str, budget: int) -> str | None:
    """``source`` up to the last top-level statement that starts within its first ``budget`` tokens
    (comments and layout not counted), read without parsing; None where it has no more tokens."""
    counted, cut_at, line_start, starts = 0, 0, True, [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in _SKIPPED or token.type in (tokenize.INDENT, tokenize.DEDENT):
                continue
            if line_start and token.start[1] == 0:
                cut_at = starts[token.start[0] - 1]
            line_start = token.type == tokenize.NEWLINE
            counted += 1
            if counted > budget:
                return source[: cut_at or starts[token.start[0] - 1]]
    except (tokenize.TokenError, SyntaxError):
        pass  # a lexing error ends the count: parsing will tell
    return None


def normalise(source: str, budget: int | None = None, identities: set[str] = frozenset()) -> Normalised:
    """``source`` (one piece of Python) as canonical units; as tokens written if it does not parse.

    Only its first ``budget`` tokens as written are parsed at all (:attr:`Normalised.cut` says so);
    ``identities`` names the identity helpers defined in earlier pieces.
    """
    source = _MAGIC.sub("", source)
    found = Normalised()
    if budget is not None:
        within = _within(source, budget)
        if within is not None:
            source, found.cut = within, True
    try:
        canonical = _Canonical(identities)
        parsed = ast.parse(source)
        found.runs_code = runs_code(parsed)
        tree = canonical.visit(parsed)
        found.identities, found.unordered = canonical.identities, canonical.unordered
        loose: list[ast.stmt] = []
        for statement in tree.body:
            if _unit_name(statement) == "statements":
                loose.append(statement)
                continue
            if loose:
                found.units.append(_unit("statements", ast.unparse(ast.Module(loose, []))))
                loose = []
            found.units.append(_unit(_unit_name(statement), ast.unparse(statement)))
        if loose:
            found.units.append(_unit("statements", ast.unparse(ast.Module(loose, []))))
        return found
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        found.units = [_unit("as written", source)] if source.strip() else []
        found.parsed = False
        return found
