"""A result computed by one version of the kit must not survive an upgrade of the kit.

kind: rerun
proof: regraded after the kit changed
"""

import shutil
import tempfile
from pathlib import Path

import pytest

from tpdl.core import paths


def scenario(course):
    course.submit("veteran", "untouched")
    course.grade()
    assert "veteran" in course.grade().reused
    with tempfile.TemporaryDirectory() as scratch, pytest.MonkeyPatch.context() as patch:
        upgraded = Path(scratch) / "tpdl"
        shutil.copytree(paths.PACKAGE, upgraded, ignore=shutil.ignore_patterns("__pycache__"))
        (upgraded / "__init__.py").write_text((upgraded / "__init__.py").read_text() + "\n# version 2\n")
        patch.setattr(paths, "PACKAGE", upgraded)  # the cache key reads the kit from here
        assert "veteran" in course.grade().graded_now, "the result was reused after the kit changed"
    return "regraded after the kit changed"
