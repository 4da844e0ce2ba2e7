"""The message catalogues kept in step with the code: ``tpdl messages`` and the test of the catalogues.

Each *domain* (:func:`domains`) is a folder whose code speaks to students: the kit (``tpdl/``, its
modules and templates), the graders' library (``graders/graderlib.py``) and each TP's graders
(``graders/<tp>/``, whose check names are messages too). For each one this module

* extracts the messages of its code with Babel (:func:`extract`): the first argument of every call
  of ``_``, in Python and in the Jinja2 templates;
* finds what a translator could not translate (:func:`problems`): a message built at run time
  (``_(f"...")``, ``_(name)``), translated fragments joined together (``_("a") + _("b")``,
  ``f"{_('a')}..."``, ``" ".join(...)``), placeholders the call does not fill, and, in the graders,
  English text a student would see that does not go through ``_`` (an assertion's message, a
  ``pytest.fail``, a note on a check, the ``what=`` that a shared assertion puts in its message);
* brings its catalogues up to date (:func:`update`), keeping every translation made, and tells what
  is left to translate (:func:`untranslated`). English is complete by construction (the code's
  messages are English); an English catalogue still lets a course reword one without touching code.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

from tpdl.core import i18n, paths

# Keyword arguments whose text the graders' shared assertions put into a student's message.
SPOKEN_KEYWORDS = ("what", "why", "recognises", "where", "course_text")
# Calls whose message reaches a student wherever they are made: the errors of a student's calls,
# of the notebooks' data, and the warnings a notebook prints.
SPOKEN_CALLS = ("StudentCodeError", "DataUnavailable", "BudgetError", "warn")


@dataclass(frozen=True)
class Domain:
    folder: Path
    sources: tuple[Path, ...]  # Python files and Jinja2 templates
    checks: tuple[Path, ...] = ()  # grader files whose test functions are checks shown to students
    graders: bool = False  # held to the graders' rule: no English outside ``_``

    @property
    def in_course(self) -> bool:
        """Whether the domain's folder lies in the course (the kit's package does in the kit's checkout)."""
        return self.folder.is_relative_to(paths.course_dir())

    @property
    def name(self) -> str:
        return self.folder.relative_to(paths.course_dir()).as_posix() if self.in_course else self.folder.name


class NotACourse(Exception):
    """The course folder holds no course; the message says where the kit looked."""


def domains() -> list[Domain]:
    """Every domain of the course: the kit, the graders' library, each TP's graders."""
    course = paths.course_dir()
    if not paths.source().is_dir() or not paths.graders().is_dir():
        raise NotACourse(
            f"{course} is not a course folder (it has no source/ or no graders/): set TPDL_COURSE_DIR "
            "to the course's folder, the one holding nbgrader_config.py"
        )
    kit = paths.PACKAGE
    found = [Domain(kit, tuple(sorted(kit.rglob("*.py")) + sorted((kit / "templates").glob("*.j2"))))]
    library = paths.graders()
    found.append(Domain(library, (library / "graderlib.py",), graders=True))
    for assignment in paths.assignments():
        folder = paths.graders(assignment)
        files = tuple(sorted(folder.glob("*.py")))
        found.append(
            Domain(folder, files, tuple(p for p in files if p.name.startswith("test_")), graders=True)
        )
    return found


# --------------------------------------------------------------------------- extraction


def _shown(path: Path) -> str:
    """A course file as the catalogues and problems name it: relative to the course."""
    try:
        return path.relative_to(paths.course_dir()).as_posix()
    except ValueError:
        return path.as_posix()


def _check_names(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        (node.lineno, node.name.removeprefix("test_"))
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]


def extract(domain: Domain):
    """The domain's messages as a Babel catalogue template (no translations)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_file

    template = Catalog(project="tpdl", domain=domain.name)
    for path in domain.sources:
        method = "jinja2.ext.babel_extract" if path.suffix == ".j2" else "python"
        where = _shown(path)
        for lineno, message, _comments, context in extract_from_file(method, path, keywords={"_": None}):
            if isinstance(message, str) and message:
                template.add(message, locations=[(where, lineno)], context=context)
    for path in domain.checks:
        where = _shown(path)
        for lineno, name in _check_names(path):
            template.add(name, locations=[(where, lineno)], context=i18n.CHECK_CONTEXT)
    return template


# ------------------------------------------------------------------------ what a translator cannot translate


def _is_translation(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _words(text: str | None) -> bool:
    """Whether a literal reads as words rather than code: a letter and a space (``"relu"``, ``"high"``,
    ``"x_train"`` are names a program uses; ``"two empty masks"`` is text)."""
    return text is not None and " " in text.strip() and any(c.isalpha() for c in text)


def _english(node: ast.AST | None) -> bool:
    """Whether ``node`` holds text (:func:`_words`, or an f-string with words) outside ``_()``."""
    if node is None:
        return False
    stack = [node]
    while stack:
        current = stack.pop()
        if _is_translation(current):
            stack.extend(current.keywords)  # the values it fills in may hold text of their own
            continue
        if isinstance(current, ast.JoinedStr):
            if any(_words(_literal(v)) for v in current.values):
                return True
        elif _words(_literal(current)):
            return True
        stack.extend(ast.iter_child_nodes(current))
    return False


def _called(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")


def _python_problems(path: Path, graders: bool) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    where = _shown(path)
    found = []

    def say(node: ast.AST, what: str) -> None:
        found.append(f"{where}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        if _is_translation(node):
            text = _literal(node.args[0]) if node.args else None
            if text is None or len(node.args) != 1:
                say(node, "_() takes one string literal (values go in as keywords)")
                continue
            filled = {k.arg for k in node.keywords}
            wanted = i18n.placeholders(text)
            if None in filled:
                say(node, "_() is given **values: name each value it fills in")
            elif wanted != filled:
                say(node, f"_({text[:40]!r}...) fills {sorted(filled)} but its text names {sorted(wanted)}")
        elif isinstance(node, ast.BinOp) and (_is_translation(node.left) or _is_translation(node.right)):
            say(node, "a translated message joined to another piece: make it one message")
        elif isinstance(node, ast.JoinedStr) and any(
            isinstance(v, ast.FormattedValue) and _is_translation(v.value) for v in node.values
        ):
            say(node, "a translated message inside an f-string: make it one message")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "join"
            and any(_is_translation(a) for arg in node.args for a in ast.walk(arg))
        ):
            say(node, "translated fragments joined together: make it one message")
        elif graders and isinstance(node, ast.Assert) and _english(node.msg):
            say(node, "an assertion's message in English only: put it through _()")
        elif (
            graders
            and isinstance(node, ast.Assign)
            and _english(node.value)
            and any(isinstance(t, ast.Attribute) and t.attr == "note" for t in node.targets)
        ):
            say(node, "a note to the student in English only: put it through _()")
        elif (
            isinstance(node, ast.Call)
            and _called(node) in SPOKEN_CALLS
            and any(_english(a) for a in node.args)
        ):
            say(node, f"{_called(node)}'s message in English only: put it through _()")
        elif graders and isinstance(node, ast.Call):
            name = _called(node)
            if name == "fail" and any(_english(a) for a in node.args):
                say(node, "pytest.fail's message in English only: put it through _()")
            for keyword in node.keywords:
                if keyword.arg in SPOKEN_KEYWORDS and _english(keyword.value):
                    say(keyword.value, f"{keyword.arg}= is part of a student's message: put it through _()")
    return found


def problems(domain: Domain) -> list[str]:
    """``file:line: what`` for every message of the domain a translator could not translate."""
    found = []
    for path in domain.sources:
        if path.suffix == ".py":
            found += _python_problems(path, domain.graders)
    return found


# --------------------------------------------------------------------------- the catalogues


def _read(path: Path, lang: str):
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    if not path.is_file():
        return Catalog(
            locale=lang,
            project="tpdl",
            version=None,
            copyright_holder="the tpdl authors",
            msgid_bugs_address="",
            language_team="",
            last_translator="",
        )
    with path.open("rb") as file:
        return read_po(file, locale=lang)


def update(domain: Domain, languages=i18n.LANGUAGES) -> dict[str, int]:
    """Bring the domain's catalogues up to date with its code; English messages translate to
    themselves unless a course reworded them. ``{lang: messages left to translate}``."""
    from babel.messages.pofile import write_po

    left = {}
    for lang in languages:
        path = i18n.catalogue_path(domain.folder, lang)
        catalog = _read(path, lang)
        catalog.update(
            extract(domain), no_fuzzy_matching=True
        )  # a template of its own: update shares its entries
        catalog.fuzzy = False
        for message in catalog:
            if message.id and lang == i18n.DEFAULT and not message.string:
                message.string = message.id
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            write_po(
                file, catalog, width=100, ignore_obsolete=True, sort_by_file=True, include_previous=False
            )
        left[lang] = len(untranslated(domain, lang))
    i18n.translations.cache_clear()
    return left


def untranslated(domain: Domain, lang: str) -> list[str]:
    """The domain's messages that ``lang``'s catalogue lacks, or translates with other placeholders."""
    catalog = _read(i18n.catalogue_path(domain.folder, lang), lang)
    found = []
    for message in extract(domain):
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        if entry is None or not entry.string or entry.fuzzy:
            found.append(f"{domain.name} [{lang}]: not translated: {message.id!r}")
        elif (
            lang != i18n.DEFAULT
            and entry.string == message.id
            and (_words(message.id) or message.context == i18n.CHECK_CONTEXT)
        ):
            found.append(f"{domain.name} [{lang}]: left in English: {message.id!r}")
        elif i18n.placeholders(entry.string) != i18n.placeholders(message.id):
            found.append(f"{domain.name} [{lang}]: other placeholders than the message's: {message.id!r}")
    return found
