"""Students' language: every message the kit shows a student comes from a gettext catalogue.

A message is written once, in English, whole, with named placeholders, and formatted by the
catalogue's function itself, so that a translation may put the values where its grammar wants them::

    _ = i18n.domain(__file__)  # the catalogue of the folder this module lives in
    assert ok, _("{what} should raise {error}, but it returned normally", what=what, error="ValueError")

Never ``_("a") + _("b")``, nor ``_(f"...")``: the test of the catalogues refuses both, since a
translator cannot reorder fragments nor translate a string built at run time.

Catalogues are Babel's ``.po`` files, one per language and *domain*, in gettext's usual layout:
``<folder>/locale/<lang>/LC_MESSAGES/messages.po``. The kit's own messages (the errors a student's
calls get, the budget and data errors of the notebooks, the feedback page) are the domain of
``tpdl/``; the graders' library and each TP's graders (``graders/<tp>/``) have their own, which
travel with them. The names of the checks, shown on the feedback page, are messages too, in the
context :data:`CHECK_CONTEXT` of their TP's catalogue.

The course sets the students' language once, in its ``nbgrader_config.py`` (``c.Kit.language =
"fr"``, read by ``tpdl.core.config``); ``TPDL_LANG`` overrides it for one command (``en`` or ``fr``, a
locale such as ``fr_FR.UTF-8`` works as well); English where neither says. In the folder of a TP's
release, the edition's language comes before the course's: the French edition's notebook hears the
kit's helpers in French wherever it runs. ``tpdl messages``
extracts the messages of the code and brings every catalogue up to date (``tpdl.authoring.messages``).
"""

import json
import numbers
import os
import stat
import string
from functools import lru_cache
from pathlib import Path

from tpdl.core import config
from tpdl.core.config import DEFAULT as DEFAULT  # the languages, read here as i18n.LANGUAGES too
from tpdl.core.config import ENV as ENV
from tpdl.core.config import LANGUAGES as LANGUAGES

FILE_NAME = "messages.po"
HANDIN = "handin.json"  # a release's: what tpdl check expects, and the edition's language
HANDIN_BYTES = 64 * 1024
CHECK_CONTEXT = "check"  # the catalogue entries naming a TP's checks (its test functions)


def language() -> str:
    """The language students are spoken to in: ``TPDL_LANG`` (``en`` or ``fr``), else the language of
    the edition whose release folder this is (a notebook's kernel runs in its folder, which holds the
    release's ``handin.json``), else the course's ``c.Kit.language``, else English. Raises ValueError
    for a language the kit does not speak."""
    chosen = os.environ.get(ENV, "").strip()
    if not chosen:
        return edition_language() or config.kit().language
    code = chosen.split(".")[0].split("_")[0].split("-")[0].lower()
    if code not in LANGUAGES:
        raise ValueError(
            f"{ENV}={chosen!r} is not a language of the kit: choose one of {', '.join(LANGUAGES)}"
        )
    return code


def edition_language(folder: Path | None = None) -> str | None:
    """The language of the edition released in ``folder`` (the current folder by default), as its
    ``handin.json`` states it; None where the folder holds no release. The file is the student's:
    only a regular file of at most :data:`HANDIN_BYTES` is read (not a link, nor a device)."""
    try:
        path = Path(folder or os.getcwd()) / HANDIN
        found = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(found.st_mode) or found.st_size > HANDIN_BYTES:
        return None
    return _stated_language(str(path), found.st_mtime_ns, found.st_size)


@lru_cache(maxsize=16)
def _stated_language(path: str, changed: int, size: int) -> str | None:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as file:
            data = file.read(HANDIN_BYTES + 1)
        stated = json.loads(data.decode("utf-8")).get("language") if len(data) <= HANDIN_BYTES else None
    except (OSError, ValueError, AttributeError):  # not a release's: the course's language then
        return None
    return stated if stated in LANGUAGES else None


def catalogue_path(folder: Path, lang: str) -> Path:
    """Where ``folder``'s catalogue for ``lang`` lives."""
    return Path(folder) / "locale" / lang / "LC_MESSAGES" / FILE_NAME


@lru_cache(maxsize=64)
def translations(folder: Path, lang: str) -> dict[tuple[str, str | None], str]:
    """``(message, context) -> translation`` of ``folder``'s catalogue for ``lang`` (empty if none)."""
    from babel.messages.pofile import read_po

    path = catalogue_path(folder, lang)
    if not path.is_file():
        return {}
    with path.open("rb") as file:
        catalog = read_po(file, locale=lang)
    return {
        (m.id, m.context): m.string
        for m in catalog
        if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string and not m.fuzzy
    }


def placeholders(text: str) -> set[str]:
    """The named fields of a message (``{what}``, ``{value:.3g}`` give ``what``, ``value``)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


class Messages:
    """The messages of one domain, in the language of :func:`language` at the time of each call."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def translate(self, message: str, context: str | None = None) -> str:
        return translations(self.folder, language()).get((message, context), message)

    def __call__(self, message: str, /, **values) -> str:
        """``message`` in the student's language, its placeholders filled from ``values`` (numbers
        written as that language writes them)."""
        text = self.translate(message)
        if not values:
            return text
        return NUMBERS[language()].vformat(text, (), values)

    def check(self, name: str) -> str:
        """The name of a check (a test function, without ``test_``) as the feedback page shows it."""
        return self.translate(name, CHECK_CONTEXT)


class _Numbers(string.Formatter):
    """Fills a message's placeholders, writing each number as a language does: ``{n:,}`` and
    ``{x:.2%}`` give ``1,234`` and ``97.83%`` in English, ``1\u202f234`` and ``97,83\u00a0%`` in French."""

    def __init__(self, thousands: str, decimal: str, percent: str):
        self.thousands, self.decimal, self.percent = thousands, decimal, percent

    def format_field(self, value, format_spec: str) -> str:
        written = super().format_field(value, format_spec)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy's numbers too
            return written
        swapped = {",": self.thousands, ".": self.decimal}
        written = "".join(swapped.get(c, c) for c in written)
        return written[:-1] + self.percent if written.endswith("%") else written


NUMBERS = {"en": _Numbers(",", ".", "%"), "fr": _Numbers("\u202f", ",", "\u00a0%")}


def number(value, format_spec: str = "") -> str:
    """``value`` written as the student's language writes numbers (``format_spec`` as ``format``'s)."""
    return NUMBERS[language()].format_field(value, format_spec)


def domain(anchor: str | os.PathLike) -> Messages:
    """The catalogue of the folder ``anchor`` names, or of the folder of the file it names."""
    folder = Path(anchor)
    return Messages(folder.parent if folder.suffix else folder)


KIT = domain(Path(__file__).resolve().parent.parent)  # the kit's own messages: tpdl/locale
