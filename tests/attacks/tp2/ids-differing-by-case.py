"""Two students whose ids differ only by case: one hands in the reference, the other nothing of its own.

kind: class
proof: CaseTwin
"""

import shutil

from tpdl.core import paths


def plant(submissions, assignment):
    shutil.copytree(paths.sample_submission("reference", assignment), submissions / "CaseTwin" / assignment)
    shutil.copytree(paths.sample_submission("untouched", assignment), submissions / "casetwin" / assignment)
    return ["CaseTwin", "casetwin"]


def expect(outcome):
    upper, lower = outcome.students["CaseTwin"], outcome.students["casetwin"]
    assert upper["score"] == upper["max_score"] > 0, "the reference lost points to its case twin"
    assert lower["score"] == 0, "the untouched case twin got the reference's points"
