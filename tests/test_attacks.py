"""Does every catalogued attack earn nothing, while the student graded after it keeps full marks?

Each attack is a code cell added to the untouched release, whose honest work is worth 0 points.
The whole catalogue is graded as one class, every attacker followed by an honest student (the
reference), so an attack that reached the judge, the sandbox or the next student would show.
"""

import os
import shutil

import pytest

from tpdl import catalogue, classroom, paths, sandbox

# One module-scoped class: its tests stay on one pytest-xdist worker, which grades it once.
pytestmark = pytest.mark.xdist_group("attacks")

ATTACKS = paths.course_dir() / "tests" / "attacks"
# Short limits: the attacks that hang cost their limits, and an honest TP1 student needs about 2 s in all.
LIMITS = sandbox.Limits(memory_bytes=4 * 2**30, cpu_seconds=20, processes=32, notebook_s=10.0, request_s=5.0)
CASES = [(a.name, e) for a in sorted(ATTACKS.iterdir()) for e in catalogue.entries(a)]


def attacker_id(index: int, entry) -> str:
    return f"{index:02d}a-{entry.id}"


def victim_id(index: int) -> str:
    return f"{index:02d}b-honest"


@pytest.fixture(scope="module")
def graded(tmp_path_factory, new_course):
    root = new_course(tmp_path_factory.mktemp("attacked") / "course")
    previous = os.environ.get("TPDL_COURSE_DIR")
    os.environ["TPDL_COURSE_DIR"] = str(root)
    try:
        submissions = root / "submitted"
        for index, (assignment, entry) in enumerate(CASES):
            base = paths.sample_submission("untouched", assignment)
            catalogue.build(
                entry, base, submissions / attacker_id(index, entry) / assignment, f"{assignment}.ipynb"
            )
            shutil.copytree(
                paths.sample_submission("reference", assignment), submissions / victim_id(index) / assignment
            )
        outcomes = {
            assignment: classroom.grade_class(assignment, submissions, progress=False, limits=LIMITS)
            for assignment in sorted({a for a, _ in CASES})
        }
    finally:
        if previous is None:
            os.environ.pop("TPDL_COURSE_DIR", None)
        else:
            os.environ["TPDL_COURSE_DIR"] = previous
    return root, outcomes


def test_catalogue_has_at_least_twenty_attacks():
    assert len(CASES) >= 20


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=[f"{a}/{e.id}" for a, e in CASES])
def test_attack_earns_nothing_and_harms_no_one(graded, index, case):
    root, outcomes = graded
    assignment, entry = case
    students = outcomes[assignment].students
    attacker = students[attacker_id(index, entry)]
    assert attacker["score"] == 0, f"{entry.id} earned {attacker['score']} points: {attacker['checks']}"
    victim = students[victim_id(index)]
    assert victim["score"] == victim["max_score"] > 0, (
        f"the student graded after {entry.id} lost points: {victim['checks']}"
    )
    on_disk = (root / "autograded" / attacker_id(index, entry) / assignment / "results.json").read_text()
    assert '"score": 0.0' in on_disk


def test_every_student_of_the_attacked_class_was_graded_once(graded):
    root, outcomes = graded
    for assignment, outcome in outcomes.items():
        expected = {attacker_id(i, e) for i, (a, e) in enumerate(CASES) if a == assignment}
        expected |= {victim_id(i) for i, (a, _) in enumerate(CASES) if a == assignment}
        assert set(outcome.students) == expected
        rows = (root / "reports" / assignment / "grades.csv").read_text().strip().splitlines()
        assert len(rows) == 1 + len(expected)


def test_no_attack_reached_the_judges_machine(graded):
    assert not os.path.exists("/tmp/pwned")
    assert not (paths.course_dir() / "results.json").exists()
