"""Makes the assignment folder a link to somebody else's work, and the student folder itself a link.

kind: class
proof: is a link: it is not graded
"""

import os
import shutil

from tpdl.core import paths


def plant(submissions, assignment):
    elsewhere = submissions.parent / "elsewhere"
    shutil.copytree(paths.sample_submission("reference", assignment), elsewhere / assignment)
    (submissions / "borrower").mkdir()
    os.symlink(elsewhere / assignment, submissions / "borrower" / assignment)
    os.symlink(elsewhere, submissions / "impostor")
    return ["borrower", "impostor"]


def expect(outcome):
    for name in ("borrower", "impostor"):
        assert name in outcome.refused and "link" in outcome.refused[name], outcome.refused
        assert name not in outcome.students
