"""Fixtures shared by the kit's tests."""

import fcntl
import os
import pickle
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import warm_pool

from tpdl.authoring import notebooks
from tpdl.core import manifest, paths
from tpdl.judge import sandbox

# Building students' Docker images takes minutes: `make docker-check` covers it, not the unit tests.
os.environ.setdefault("TPDL_DOCKER", "off")


# The longest single tests (a whole term on a JupyterHub, a class graded on Slurm: minutes each, one
# after the other in one process) go first, so that a worker starts each at once and the others share
# the rest, instead of one of them starting near the end and making the run wait for it.
FIRST = ("hub", "slurm")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: not any(item.get_closest_marker(name) for name in FIRST))


# Short limits keep the tests quick: the attacks that hang or spin cost seconds, not minutes.
TEST_LIMITS = sandbox.Limits(
    memory_bytes=4 * 2**30, cpu_seconds=30, processes=64, notebook_s=20.0, request_s=10.0
)


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory) -> Path:
    """The folder every process of this test run shares (each pytest-xdist worker has its own below it)."""
    own = tmp_path_factory.getbasetemp()
    return own.parent if os.environ.get("PYTEST_XDIST_WORKER") else own


@pytest.fixture(scope="session")
def released(run_folder):
    """Every assignment, each edition of each TP, released once per test run (the gradebook learns
    them too).

    Under pytest-xdist (``make test`` runs three workers) the workers share the course directory:
    the first to need the releases builds them while the others wait, then reuse them.
    """
    with open(run_folder / "released.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = run_folder / "released"
        if not done.exists():
            for assignment in paths.editions():  # every TP, in each language it is written in
                notebooks.release(assignment)
            done.touch()
    return {assignment: paths.release(assignment) for assignment in paths.editions()}


@pytest.fixture(scope="session")
def built_once(run_folder):
    """``built_once(name, build)``: what ``build(folder)`` returns, built once per test run.

    The first process of the run to ask builds it in a folder of its own, under a lock, and saves it
    (pickled) beside that folder; the others wait for it, then read it back. So the tests sharing an
    expensive set-up (an attacked class graded, a course taken through nbgrader's cycle) may run on
    any pytest-xdist worker, and the set-up still runs once. A build that failed or skipped does so
    for every test that asks for it, without running again.
    """
    built: dict[str, object] = {}

    def get(name: str, build):
        if name not in built:
            with open(run_folder / f"{name}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                built[name] = _load_or_build(run_folder, name, build)
        value = built[name]
        if isinstance(value, BaseException):  # raised here: this process built it
            raise value
        if isinstance(value, NotBuilt):
            value.tell()
        return value

    return get


@dataclass(frozen=True)
class NotBuilt:
    """Why a set-up ``built_once`` shares was not built: a skip's reason or a failure's traceback."""

    skipped: bool
    why: str

    def tell(self):
        if self.skipped:
            pytest.skip(self.why)
        pytest.fail(self.why, pytrace=False)


def _load_or_build(run_folder: Path, name: str, build):
    """The saved outcome of ``build``, built now if there is none: its value, or why it was not built
    (the exception itself in the process that built it)."""
    saved = run_folder / f"{name}.pickle"
    if saved.exists():
        return pickle.loads(saved.read_bytes())
    folder = run_folder / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    try:
        outcome = build(folder)
    except pytest.skip.Exception as skip:
        saved.write_bytes(pickle.dumps(NotBuilt(True, skip.msg)))
        return skip
    except (Exception, pytest.fail.Exception) as error:  # noqa: BLE001 - told to every test that asks
        why = f"{name} could not be built:\n{''.join(traceback.format_exception(error))}"
        saved.write_bytes(pickle.dumps(NotBuilt(False, why)))
        return error
    saved.write_bytes(pickle.dumps(outcome))
    return outcome


@pytest.fixture(scope="session")
def shared_pool():
    """This process's warm pool (``warm_pool.SharedPool``): ``with shared_pool.used(): ...``."""
    pool = warm_pool.SharedPool()
    yield pool
    pool.close()


@pytest.fixture
def in_shared_pool(shared_pool):
    """The test's class runs grade in this process's warm pool."""
    with shared_pool.used():
        yield


@pytest.fixture(scope="session")
def zygote():
    """One sandbox for the tests that grade single submissions."""
    with sandbox.Zygote(TEST_LIMITS) as jail:
        yield jail


# TP1's full graders train models and start a web service, TP4's segment and classify fresh data (15 s
# a student each): the tests of the grading machinery (classes, resumes, pools, attacks) grade their
# pilot checks only.
PILOT = {a: manifest.load(a).pilot for a in paths.assignments() if manifest.load(a).pilot}


def make_course(root, extra_graders: dict[str, tuple[str, ...]] | None = None):
    """A scratch course directory at ``root`` sharing the real graders (of a TP that has pilot graders,
    those and the modules ``extra_graders`` adds) and sources."""
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
                if (paths.graders(assignment) / module).exists():  # a TP's conftest.py is optional
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


# Short limits: a worker that hangs costs seconds.
BARE_LIMITS = sandbox.Limits(memory_bytes=2 * 2**30, cpu_seconds=30, notebook_s=30.0, request_s=10.0)


@pytest.fixture(scope="module")
def bare_zygote():
    """A jail whose zygote preloads nothing: it starts in a second or two (no TensorFlow)."""
    with sandbox.Zygote(BARE_LIMITS, preload=()) as jail:
        yield jail


@pytest.fixture
def notebook_folder(tmp_path):
    """``notebook_folder(*cells)``: a submission folder holding ``n.ipynb`` made of these code cells."""

    def make(*cells: str) -> Path:
        folder = tmp_path / "submission"
        folder.mkdir()
        book = nbformat.v4.new_notebook()
        book.cells = [nbformat.v4.new_code_cell(code) for code in cells]
        nbformat.write(book, folder / "n.ipynb")
        return folder

    return make
