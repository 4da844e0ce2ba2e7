"""A student id of 200 characters, which tools cut short (Docker tags, database columns, file names).

kind: class
proof: is not a student id
"""

import shutil

from tpdl.core import paths

NAME = "s" * 200


def plant(submissions, assignment):
    shutil.copytree(paths.sample_submission("untouched", assignment), submissions / NAME / assignment)
    return [NAME]


def expect(outcome):
    assert NAME not in outcome.students and NAME in outcome.refused
