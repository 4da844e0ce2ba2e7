"""A Dockerfile that does not build keeps its points while Docker checks are off; once they can run, it must be regraded.

kind: rerun
proof: regraded once the Docker checks could run
"""


def scenario(course):
    course.submit("builder", "reference")
    first = course.grade(TPDL_DOCKER="off")
    assert "builder" in first.graded_now
    assert "builder" in course.grade(TPDL_DOCKER="off").reused
    # The state of the engine is part of what a result depends on: "off" and "auto" are not the same.
    second = course.grade(TPDL_DOCKER="auto")
    assert "builder" in second.graded_now, "the result was reused although the Docker checks changed"
    return "regraded once the Docker checks could run"
