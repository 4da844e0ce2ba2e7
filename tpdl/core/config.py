"""The kit's own options, set in the course's ``nbgrader_config.py`` beside nbgrader's::

    c.Kit.language = "fr"  # the students' language: feedback pages and the judge's messages

They are read the way nbgrader reads its own (traitlets executes the file), once per version of
the file, so that ``tpdl grade``, nbgrader's commands and formgrader's buttons all follow the
course. A folder without ``nbgrader_config.py`` has the defaults.
"""

import os
from functools import lru_cache

from traitlets import Enum, TraitError
from traitlets.config import Configurable

from tpdl.core import paths

FILE = "nbgrader_config.py"
LANGUAGES = paths.LANGUAGES  # the languages the kit speaks to students
DEFAULT = paths.SOURCE_LANGUAGE
ENV = "TPDL_LANG"  # overrides the course's language for one command


class Kit(Configurable):
    """The kit's options in ``nbgrader_config.py`` (``c.Kit.<option>``)."""

    language = Enum(
        LANGUAGES,
        default_value=DEFAULT,
        help="The language students are spoken to in: feedback pages and the judge's messages. "
        f"{ENV} overrides it for one command.",
    ).tag(config=True)


def kit() -> Kit:
    """The kit's options in the current course (``tpdl.core.paths.course_dir``)."""
    path = paths.course_dir() / FILE
    try:
        changed = path.stat().st_mtime_ns
    except OSError:  # no course configuration here (a student's machine, a worker's jail)
        return Kit()
    return _read(str(path), changed)


@lru_cache(maxsize=8)
def _read(path: str, changed: int) -> Kit:
    from traitlets.config.loader import PyFileConfigLoader

    folder, name = os.path.split(path)
    try:
        return Kit(config=PyFileConfigLoader(name, path=folder).load_config())
    except TraitError as error:
        raise ValueError(f"{path}: {error}") from None
    except Exception as error:  # noqa: BLE001 - the course's file, as nbgrader would fail on it
        raise ValueError(f"{path} cannot be read: {type(error).__name__}: {error}") from None
