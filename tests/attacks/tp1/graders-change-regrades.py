"""A result earned under one version of the graders must not survive a change of the graders.

kind: rerun
proof: regraded after the graders changed
"""


def scenario(course):
    course.submit("early", "reference")
    first = course.grade()
    assert "early" in first.graded_now
    again = course.grade()
    assert "early" in again.reused, "an unchanged class should reuse its results"
    grader = course.root / "graders" / "tp1" / "test_preprocess.py"
    grader.write_text(grader.read_text() + "\n# a stricter rule, say\n")
    changed = course.grade()
    assert "early" in changed.graded_now, "the result was reused although the graders changed"
    return "regraded after the graders changed"
