"""The README and the documentation site: built with --strict, short, true to the package and catalogue."""

import ast
import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_LINES = 150
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_NAME = re.compile(r"`(tpdl(?:\.\w+)+)")
CODE_PATH = re.compile(r"`((?:bench|docs|graders|jupyter-config|scripts|source|tests|tpdl)/[^`\s<>*]*)`")
VARIANTS = re.compile(r"(\d+) catalogued variants \((\d+) wrong.*?[;,] (\d+) correct")
TP_PART = re.compile(r"^(?:\| |## )(TP\d)\b(.*?)(?=^(?:\| |## )TP\d\b|\Z)", re.MULTILINE | re.DOTALL)
OUTSIDE = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.IGNORECASE)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site as `mkdocs build --strict` writes it: any warning (a broken link or anchor) fails."""
    folder = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip (the command's options on one line)
    assert built.returncode == 0, f"mkdocs build --strict failed:\n{built.stdout}{built.stderr}"
    return folder


def page(site: Path, source: str) -> Path:
    """The built page of a docs/ source file (the site does not use directory URLs)."""
    return site / Path(source).with_suffix(".html")


def test_the_readme_is_short():
    lines = len(README.read_text().splitlines())
    assert lines < README_LINES, f"README.md has {lines} lines; the rest belongs in docs/"


def test_every_readme_link_into_the_docs_is_a_built_page(site):
    links = [link for link in LINK.findall(README.read_text()) if link.startswith("docs/")]
    assert links, "the README links to no page of the documentation"
    for link in links:
        target, _, anchor = link.removeprefix("docs/").partition("#")
        built = page(site, target)
        assert built.is_file(), f"README.md links to {link}, which the site does not build"
        assert not anchor or f'id="{anchor}"' in built.read_text(), f"README.md: no #{anchor} in {link}"


def test_the_site_loads_nothing_from_outside(site):
    for built in site.rglob("*.html"):
        found = OUTSIDE.search(built.read_text())
        assert found is None, f"{built.relative_to(site)} loads from outside: {found.group(0)}"


@pytest.mark.parametrize(
    "source, page_name", [("bench/results.md", "benchmarks.md"), ("CHANGELOG.md", "changelog.md")]
)
def test_included_files_are_the_pages(site, source, page_name):
    text = html.unescape(page(site, page_name).read_text())
    lines = (ROOT / source).read_text().splitlines()
    headings = [line.lstrip("#").replace("`", "").strip() for line in lines if line.startswith("#")]
    missing = [heading for heading in headings if heading not in text]
    assert headings and not missing, f"{page_name} lacks these headings of {source}: {missing}"


def test_the_package_map_names_every_module(site):
    spec = importlib.util.spec_from_file_location("package_map", DOCS / "hooks" / "package_map.py")
    package_map = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package_map)
    package = ROOT / "tpdl"
    subpackages = {folder.name for folder in package.iterdir() if (folder / "__init__.py").is_file()}
    assert subpackages == set(package_map.LAYERS), "the package map's layers are not tpdl's subpackages"
    text = page(site, "architecture.md").read_text()
    modules = [source for layer in subpackages for source in (package / layer).rglob("*.py")]
    dotted = {".".join(m.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__") for m in modules}
    missing = sorted(
        name
        for name in dotted - set(f"tpdl.{layer}" for layer in subpackages)
        if f"<code>{name}</code>" not in text
    )
    assert not missing, f"the architecture page's package map lacks {missing}"


def defined(module: Path) -> set[str]:
    """The names a module defines or imports at its top level."""
    names = set()
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def resolves(dotted: str) -> bool:
    """Whether ``tpdl.a.b.name`` is a package, a module, or a name a module defines."""
    path, parts = ROOT, dotted.split(".")
    for index, part in enumerate(parts):
        if (path / part / "__init__.py").is_file():
            path = path / part
        elif (path / f"{part}.py").is_file():
            rest = parts[index + 1 :]
            return not rest or rest[0] in defined(path / f"{part}.py")
        else:
            return False
    return True


def test_every_module_the_docs_name_exists():
    sources = [README, ROOT / "CONTRIBUTING.md", ROOT / "tests" / "new_tp" / "README.md", *DOCS.glob("*.md")]
    named = {(source.name, name) for source in sources for name in CODE_NAME.findall(source.read_text())}
    assert named, "no module of the kit is named in the documentation"
    stale = sorted(f"{source}: {name}" for source, name in named if not resolves(name))
    assert not stale, "the documentation names what the package no longer has:\n" + "\n".join(stale)


def test_every_path_the_docs_name_exists():
    sources = [README, ROOT / "CONTRIBUTING.md", ROOT / "tests" / "new_tp" / "README.md", *DOCS.glob("*.md")]
    named = {(source.name, path) for source in sources for path in CODE_PATH.findall(source.read_text())}
    assert named, "no file of the kit is named in the documentation"
    missing = sorted(f"{source}: {path}" for source, path in named if not (ROOT / path).exists())
    assert not missing, "the documentation names files the kit no longer has:\n" + "\n".join(missing)


@pytest.mark.parametrize("source", [README, DOCS / "status.md"], ids=["README", "status"])
def test_the_status_counts_the_catalogue(source):
    catalogue = ROOT / "tests" / "catalogue"
    counted = {}
    for folder in sorted(catalogue.iterdir()):
        wrong = len(list(folder.glob("*--fail--*.py")))
        correct = len(list(folder.glob("*--pass--*.py")))
        counted[folder.name.upper()] = (wrong + correct, wrong, correct)
    text = source.read_text()
    stated = {
        part: tuple(int(figure) for figure in figures.groups())
        for part, body in TP_PART.findall(text)
        if (figures := VARIANTS.search(body))
    }
    assert stated == counted, f"{source.name}'s catalogued variants per TP differ from tests/catalogue/"
    total = tuple(sum(figures[i] for figures in counted.values()) for i in range(3))
    assert "{:,} catalogued variants, {:,} wrong and {:,} correct".format(*total) in text, total
