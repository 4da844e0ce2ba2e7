"""A result earned under generous limits must not survive a change of the limits.

kind: rerun
proof: regraded after the limits changed
"""

import dataclasses


def scenario(course):
    course.submit("patient", "untouched")
    course.grade()
    assert "patient" in course.grade().reused
    tighter = dataclasses.replace(course.limits, notebook_s=course.limits.notebook_s / 2)
    assert "patient" in course.grade(limits=tighter).graded_now, "the result was reused under other limits"
    return "regraded after the limits changed"
