"""Every path of the course, resolved from one place.

The course directory is the folder holding ``nbgrader_config.py``; it defaults to the folder above
this package and can be moved with ``TPDL_COURSE_DIR``.
"""

import os
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the tpdl package
FIXTURES = PACKAGE / "fixtures"
# A TP is written in English (``tp1``); each of its editions in another language is an nbgrader
# assignment of its own, named after the TP and the language (``tp1-fr``).
LANGUAGES = ("en", "fr")
SOURCE_LANGUAGE = "en"
EDITION = re.compile(r"^(?P<tp>.+)-(?P<language>[a-z]{2})$")


def edition(tp: str, language: str) -> str:
    """The assignment of ``tp``'s edition in ``language`` (``tp1``, ``tp1-fr``)."""
    return tp if language == SOURCE_LANGUAGE else f"{tp}-{language}"


def tp_of(assignment: str) -> str:
    """The TP an assignment is an edition of (``tp1-fr`` -> ``tp1``; ``tp1`` -> ``tp1``)."""
    found = EDITION.match(assignment)
    return found["tp"] if found and found["language"] in LANGUAGES else assignment


def language_of(assignment: str) -> str:
    """The language an assignment's notebook is written in (``tp1-fr`` -> ``fr``)."""
    found = EDITION.match(assignment)
    return found["language"] if found and found["language"] in LANGUAGES else SOURCE_LANGUAGE


def course_dir() -> Path:
    """The nbgrader course directory (``TPDL_COURSE_DIR`` or the folder above the package)."""
    return Path(os.environ.get("TPDL_COURSE_DIR", PACKAGE.parent)).resolve()


def source(assignment: str = "") -> Path:
    return course_dir() / "source" / assignment


def release(assignment: str = "") -> Path:
    return course_dir() / "release" / assignment


def solutions(assignment: str = "") -> Path:
    return course_dir() / "solutions" / assignment


def graders(assignment: str = "") -> Path:
    """The graders of ``assignment``'s TP: every edition of a TP is graded by the same ones."""
    return course_dir() / "graders" / tp_of(assignment)


def submitted() -> Path:
    return course_dir() / "submitted"


def autograded() -> Path:
    return course_dir() / "autograded"


def feedback() -> Path:
    return course_dir() / "feedback"


def reports() -> Path:
    """Class-level outputs of ``tpdl grade`` (CSV, HTML)."""
    return course_dir() / "reports"


def sample_class() -> Path:
    """The committed sample class graded by ``make demo``."""
    return course_dir() / "sample_class"


def sample_submission(student: str, assignment: str) -> Path:
    """One submission of the sample class (``reference``, ``untouched``, ``mistakes``, ``attacker``)."""
    return sample_class() / student / assignment


def user_cache() -> Path:
    """The kit's folder in the user's cache (``XDG_CACHE_HOME`` or ``~/.cache``): what the judge makes
    once per machine, never in the course's repository."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tpdl"


def gradebook_url() -> str:
    return f"sqlite:///{course_dir() / 'gradebook.db'}"


def assignments() -> list[str]:
    """The kit's TPs: the folders of ``source/`` holding a notebook source, editions in another
    language left out (:func:`editions` lists those too)."""
    return [name for name in editions() if tp_of(name) == name]


def editions(tp: str | None = None) -> list[str]:
    """Every edition of the kit's TPs (``tp1``, ``tp1-fr``, ``tp2``...), or of ``tp`` alone."""
    root = source()
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and (p / f"{p.name}.nb.py").exists())
    return [name for name in found if tp is None or tp_of(name) == tp]


def course_assignments() -> list[str]:
    """Every assignment of the course, the kit's TPs and plain nbgrader ones: the folders of ``source/``."""
    root = source()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
