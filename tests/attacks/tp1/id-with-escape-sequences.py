"""A student folder whose name holds terminal escape sequences (retitle the window, colour, clear).

kind: class
proof: is not a student id
"""

import shutil

from tpdl.core import paths

NAME = "\x1b]2;owned\x07\x1b[2J\x1b[31mred"


def plant(submissions, assignment):
    shutil.copytree(paths.sample_submission("reference", assignment), submissions / NAME / assignment)
    return [NAME]


def expect(outcome):
    assert NAME not in outcome.students, "a folder whose name is not a student id was graded"
    assert any("\\x1b" in name for name in outcome.refused), f"refused without being shown escaped: {outcome.refused}"
