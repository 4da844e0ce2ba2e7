"""A student folder whose name is not UTF-8 (a byte 0xff), which every writer of text would choke on.

kind: class
proof: st\\xffudent
"""

import os
import shutil

from tpdl.core import paths

NAME = os.fsdecode(b"st\xffudent")


def plant(submissions, assignment):
    shutil.copytree(paths.sample_submission("reference", assignment), os.path.join(submissions, NAME, assignment))
    return [NAME]


def expect(outcome):
    assert NAME not in outcome.students
    assert "st\\xffudent" in outcome.refused, outcome.refused
