"""The package's architecture, read from its code: layers imported downwards only, no circle, no
private name used across modules.

Layers, lowest first (``tpdl.cli`` and ``tpdl/__init__.py`` stand on top)::

    core < course < judge < grading < authoring < classroom

A module imports from its own layer or from lower ones; no import, even inside a function, closes a
circle; a name starting with ``_`` belongs to its module.
"""

import ast
from pathlib import Path

import pytest

from tpdl.core import paths

LAYERS = ("core", "course", "judge", "grading", "authoring", "classroom")
TOP = len(LAYERS)  # tpdl.cli, tpdl/__init__.py


def _module_name(path: Path) -> str:
    parts = path.relative_to(paths.PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(paths.PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    """A module's layer, as an index into :data:`LAYERS` (``TOP`` above them all)."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else TOP


def resolve(name: str) -> str | None:
    """The kit's module that ``name`` (a module, or a name in one) is, or None outside the kit."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


class Imports(ast.NodeVisitor):
    """Each import of one module: ``(line, kit module imported, names taken, at module level)``."""

    def __init__(self, module: str):
        self.module, self.found, self.depth = module, [], 0

    def _nested(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _nested

    def visit_If(self, node):
        typing_only = isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        self.depth += typing_only
        self.generic_visit(node)
        self.depth -= typing_only

    def visit_Import(self, node):
        for alias in node.names:
            if (target := resolve(alias.name)) and target != self.module:
                self.found.append((node.lineno, target, (), self.depth == 0))

    def visit_ImportFrom(self, node):
        if node.level or not node.module or not node.module.startswith("tpdl"):
            return
        for alias in node.names:
            submodule = f"{node.module}.{alias.name}"
            if submodule in MODULES:
                self.found.append((node.lineno, submodule, (), self.depth == 0))
            elif (target := resolve(node.module)) and target != self.module:
                self.found.append((node.lineno, target, (alias.name,), self.depth == 0))


def imports(module: str) -> list[tuple[int, str, tuple[str, ...], bool]]:
    visitor = Imports(module)
    visitor.visit(ast.parse(MODULES[module].read_text(), str(MODULES[module])))
    return visitor.found


GRAPH = {module: imports(module) for module in MODULES}


def test_the_package_has_the_layers_it_names():
    assert {layer(module) for module in MODULES} == set(range(TOP + 1))
    assert not [m for m in MODULES if m.count(".") == 1 and m.split(".")[1] not in (*LAYERS, "cli")]


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [
        f"{MODULES[module].relative_to(paths.PACKAGE.parent)}:{line}: {module} ({LAYERS[layer(module)]}) "
        f"imports {target} ({LAYERS[layer(target)] if layer(target) < TOP else 'top'})"
        for module, found in GRAPH.items()
        for line, target, _names, _top in found
        if layer(target) > layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_no_circle_of_imports():
    """Not even through an import inside a function: a lazy import hides a circle, it does not break it."""
    edges = {m: {t for _l, t, _n, _top in found} for m, found in GRAPH.items()}
    circles, state = [], {}

    def visit(module, trail):
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not circles, "\n".join(circles)


class PrivateUses(ast.NodeVisitor):
    """``alias._name`` where ``alias`` is a kit module imported by this module."""

    def __init__(self, aliases: dict[str, str]):
        self.aliases, self.found = aliases, []

    def visit_Attribute(self, node):
        if (
            isinstance(node.value, ast.Name)
            and node.value.id in self.aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            self.found.append((node.lineno, f"{self.aliases[node.value.id]}.{node.attr}"))
        self.generic_visit(node)


def _private_uses(module: str) -> list[str]:
    tree = ast.parse(MODULES[module].read_text())
    aliases, found = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tpdl"):
            for alias in node.names:
                if f"{node.module}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                elif alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append((node.lineno, f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in MODULES:
                    aliases[alias.asname] = alias.name
    visitor = PrivateUses(aliases)
    visitor.visit(tree)
    where = MODULES[module].relative_to(paths.PACKAGE.parent)
    return [f"{where}:{line}: {name}" for line, name in found + visitor.found]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_of_another_module_is_used(module):
    uses = _private_uses(module)
    assert not uses, "\n".join(uses)


def test_the_student_runtime_imports_nothing_above_the_course():
    """What a notebook imports (``tpdl``, ``tpdl.core``, ``tpdl.course``) installs without the judge."""
    student = [m for m in MODULES if m == "tpdl" or layer(m) <= LAYERS.index("course")]
    reached = {
        target for m in student for _l, target, _n, _top in GRAPH[m] if layer(target) > LAYERS.index("course")
    }
    assert not reached, sorted(reached)
