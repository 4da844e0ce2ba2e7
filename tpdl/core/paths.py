"""Every path of the course, resolved from one place.

The course directory is the folder holding ``nbgrader_config.py``; it defaults to the folder above
this package and can be moved with ``TPDL_COURSE_DIR``.
"""

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the tpdl package
FIXTURES = PACKAGE / "fixtures"


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
    return course_dir() / "graders" / assignment


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
    """Assignment names, one per folder of ``source/`` holding a notebook source."""
    root = source()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / f"{p.name}.nb.py").exists())


def course_assignments() -> list[str]:
    """Every assignment of the course, the kit's TPs and plain nbgrader ones: the folders of ``source/``."""
    root = source()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
