"""Fixtures shared by the kit's tests."""

import pytest

from tpdl import notebooks, paths, sandbox

# Short limits keep the tests quick: the attacks that hang or spin cost seconds, not minutes.
TEST_LIMITS = sandbox.Limits(
    memory_bytes=4 * 2**30, cpu_seconds=30, processes=64, notebook_s=20.0, request_s=10.0
)


@pytest.fixture(scope="session")
def released():
    """Every assignment released once per test session (the gradebook learns them too)."""
    return {assignment: notebooks.release(assignment) for assignment in paths.assignments()}


@pytest.fixture(scope="session")
def zygote():
    """One sandbox for the tests that grade single submissions."""
    with sandbox.Zygote(TEST_LIMITS) as jail:
        yield jail


def make_course(root):
    """A scratch course directory at ``root`` sharing the real graders and sources, with its own outputs."""
    root.mkdir(parents=True, exist_ok=True)
    real = paths.course_dir()
    for name in ("graders", "source", "release", "sample_class"):
        (root / name).symlink_to(real / name)
    for name in ("nbgrader_config.py", "gradebook.db"):
        (root / name).write_bytes((real / name).read_bytes())
    forget_students(root / "gradebook.db")
    return root


@pytest.fixture(scope="session")
def new_course(released):
    """``new_course(root)`` makes a scratch course (see :func:`make_course`)."""
    return make_course


@pytest.fixture
def course(tmp_path, monkeypatch, new_course):
    """A scratch course directory, made the current one for this test."""
    root = new_course(tmp_path / "course")
    monkeypatch.setenv("TPDL_COURSE_DIR", str(root))
    return root


def forget_students(database):
    """Keep the assignments of a gradebook, drop its students and their grades."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{database}") as gradebook:
        for student in list(gradebook.students):
            gradebook.remove_student(student.id)
