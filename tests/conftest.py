"""Fixtures shared by the kit's tests."""

import fcntl
import os
import shutil

import pytest

from tpdl.authoring import notebooks
from tpdl.core import manifest, paths
from tpdl.judge import sandbox

# Building students' Docker images takes minutes: `make docker-check` covers it, not the unit tests.
os.environ.setdefault("TPDL_DOCKER", "off")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Keep each ``xdist_group`` on one pytest-xdist worker (``--dist loadgroup``).

    pytest-xdist 3.8 marks a test's group by rewriting its node id, an attribute pytest 9 no longer
    reads (it derives node ids from a structured id): without this, grouped tests are spread over
    every worker, and each would grade an attacked class of its own.
    """
    if not hasattr(config, "workerinput") or not config.getvalue("loadgroup"):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        groups = {
            str(m.args[0] if m.args else m.kwargs.get("name", "default"))
            for m in item.iter_markers("xdist_group")
        }
        if groups and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(groups))}")


# Short limits keep the tests quick: the attacks that hang or spin cost seconds, not minutes.
TEST_LIMITS = sandbox.Limits(
    memory_bytes=4 * 2**30, cpu_seconds=30, processes=64, notebook_s=20.0, request_s=10.0
)


@pytest.fixture(scope="session")
def released(tmp_path_factory, worker_id):
    """Every assignment released once per test run (the gradebook learns them too).

    Under pytest-xdist (``make test`` runs two workers) the workers share the course directory:
    the first to need the releases builds them while the others wait, then reuse them.
    """
    shared = tmp_path_factory.getbasetemp().parent  # the run's folder, above every worker's own
    with open(shared / "released.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "released"
        if worker_id == "master" or not done.exists():
            for assignment in paths.assignments():
                notebooks.release(assignment)
            done.touch()
    return {assignment: paths.release(assignment) for assignment in paths.assignments()}


@pytest.fixture(scope="session")
def zygote():
    """One sandbox for the tests that grade single submissions."""
    with sandbox.Zygote(TEST_LIMITS) as jail:
        yield jail


# TP1's full graders train models and start a web service (15 s a student): the tests of the
# grading machinery (classes, resumes, pools, attacks) grade its pilot checks only.
PILOT = {a: manifest.load(a).pilot for a in paths.assignments() if manifest.load(a).pilot}


def make_course(root, extra_graders: dict[str, tuple[str, ...]] | None = None):
    """A scratch course directory at ``root`` sharing the real graders (TP1's pilot ones, and the
    modules ``extra_graders`` adds) and sources."""
    root.mkdir(parents=True, exist_ok=True)
    real = paths.course_dir()
    for name in ("source", "release", "sample_class"):
        (root / name).symlink_to(real / name)
    for assignment in paths.assignments():
        target = root / "graders" / assignment
        if assignment in PILOT:
            target.mkdir(parents=True)
            modules = {
                *PILOT[assignment],
                *(extra_graders or {}).get(assignment, ()),
                "conftest.py",
                manifest.FILE,
            }
            for module in sorted(modules):
                shutil.copyfile(paths.graders(assignment) / module, target / module)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(paths.graders(assignment))
    for library in paths.graders().glob("*.py"):  # what every TP's graders share
        (root / "graders" / library.name).symlink_to(library)
    for name in ("nbgrader_config.py", "gradebook.db"):
        (root / name).write_bytes((real / name).read_bytes())
    forget_students(root / "gradebook.db")
    return root


@pytest.fixture(scope="session")
def new_course(released):
    """``new_course(root, extra_graders=None)`` makes a scratch course (see :func:`make_course`)."""
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
