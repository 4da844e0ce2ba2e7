"""MkDocs hook: the architecture page's package map, written at build time from the package itself."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tpdl"
MARKER = "<!-- package map -->"
LAYERS = ["core", "course", "judge", "grading", "authoring", "classroom"]  # lowest first


def summary(source: Path) -> str:
    """The first paragraph of a module's docstring, on one line."""
    docstring = ast.get_docstring(ast.parse(source.read_text())) or ""
    # reST's "::" ends a sentence that opens a literal block: one colon is left.
    first = docstring.split("\n\n")[0].replace("\n", " ").removesuffix(":")
    return first.replace("``", "`").replace("|", "\\|")


def lines(source: Path) -> int:
    """How many lines a module has."""
    return len(source.read_text().splitlines())


def subpackage_table(layer: str) -> str:
    """One subpackage: its docstring, then each module with what it holds and its lines."""
    folder = PACKAGE / layer
    rows = ["| module | what it holds | lines |", "| --- | --- | ---: |"]
    for source in sorted(folder.rglob("*.py")):
        if source.name == "__init__.py" and source.parent == folder:
            continue
        dotted = ".".join(source.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        rows.append(f"| `{dotted}` | {summary(source)} | {lines(source):,} |")
    return "\n".join([f"### `tpdl.{layer}`", "", summary(folder / "__init__.py"), "", *rows])


def package_map() -> str:
    """Every subpackage, lowest layer first, then the command line above them all."""
    cli = PACKAGE / "cli.py"
    top = ["### `tpdl.cli`", "", f"{summary(cli)} ({lines(cli):,} lines)"]
    return "\n\n".join([*(subpackage_table(layer) for layer in LAYERS), "\n".join(top)])


def on_page_markdown(markdown: str, page, **_) -> str:
    """Put the package map where the architecture page marks it."""
    return markdown.replace(MARKER, package_map()) if MARKER in markdown else markdown
