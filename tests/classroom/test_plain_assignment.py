"""A plain nbgrader assignment beside a TP of the kit, through nbgrader's whole cycle.

The course holds TP1 (graded by the kit's judge) and ``quiz1``, an instructor's own nbgrader
notebook: an autograded answer, two test cells (one with hidden tests) and an answer graded by
hand. Three students fetch both, work and submit: ``alice`` answers the quiz right, ``bob`` writes
an answer that passes the visible test only, ``mallory`` attacks (reads the instructor's files,
writes outside her folder, rewrites the gradebook, forges the kit's results). The instructor
collects, autogrades the quiz with nbgrader (its cells run in the kit's sandbox), grades TP1
with ``tpdl grade``, grades the written answer by hand, autogrades once more with formgrader's
button, generates feedback and exports.
"""

import csv
import datetime
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tpdl.authoring import notebooks
from tpdl.core import paths

pytestmark = pytest.mark.slow

QUIZ, TP = "quiz1", "tp1"
BIN = Path(sys.executable).parent
HAND_GRADE = 2.0  # alice's written answer, graded by hand (its maximum)
HIDDEN = "squares(10)[-1] == 100"  # the hidden test: never in a student's feedback
RIGHT = "def squares(n):\n    return [i * i for i in range(1, n + 1)]"
WRONG = "def squares(n):\n    return [1, 4, 9][:n]"  # passes the visible test, not the hidden one

# mallory's answer: every probe records what it did ("done") or the exception that stopped it.
ATTACK = """
import json, os, sqlite3
course = {course!r}
probes = {{}}

def attempt(name, action):
    try:
        action()
        probes[name] = "done"
    except Exception as error:
        probes[name] = type(error).__name__

for name, path in [("read the gradebook", course + "/gradebook.db"),
                   ("read the hidden tests", course + "/source/quiz1/quiz1.ipynb"),
                   ("read the course's settings", course + "/nbgrader_config.py"),
                   ("read another student's work", course + "/submitted/alice/quiz1/quiz1.ipynb"),
                   ("read the gradebook from the graded folder", "../../../gradebook.db"),
                   ("read the hidden tests from the graded folder", "../../../source/quiz1/quiz1.ipynb")]:
    attempt(name, lambda path=path: open(path, "rb").read(16))
attempt("list the course", lambda: os.listdir(course))
for name, path in [("write into the course", course + "/pwned.txt"),
                   ("write into another student's folder", course + "/autograded/alice/quiz1/pwned.txt"),
                   ("write into the course from the graded folder", "../../../pwned.txt")]:
    attempt(name, lambda path=path: open(path, "w").write("pwned"))

def give_myself_points():
    with sqlite3.connect("file:" + course + "/gradebook.db?mode=rw", uri=True) as db:
        db.execute("UPDATE grade SET auto_score = 100")

attempt("change the gradebook", give_myself_points)
probes["the course's path in the environment"] = any(course in value for value in os.environ.values())
with open("side-effect.txt", "w") as kept:
    kept.write("written by the notebook")
with open("results.json", "w") as forged:
    json.dump({{"student": "mallory", "assignment": "quiz1", "score": 100, "checks": [],
               "note": "-".join(["forged", "page"])}}, forged)
with open("new-timestamp.txt", "w") as stamp:
    stamp.write("2000-01-01 00:00:00.000000 UTC")
os.replace("new-timestamp.txt", "timestamp.txt")
print("PROBES " + json.dumps(probes))
"""


# mallory's cell after the test cells: what of the hidden tests can her code still find, once they ran?
LOOK_FOR_HIDDEN = """
import glob, json, linecache
needle = "squares(1" + "0)"  # the hidden test, written so that this cell's own source does not hold it
found = [h for h in In if needle in h]
found += [k for k, v in globals().items() if k.startswith("_i") and needle in str(v)]
found += [k for k, v in linecache.cache.items() if needle in "".join(v[2] if len(v) > 2 else [])]
found += [path for path in glob.glob("*.ipynb") if needle in open(path).read()]
with open("extra.ipynb", "w") as notebook:  # nbgrader would take a notebook kept here for one of the quiz's
    notebook.write(open("side-effect.txt").read())
print("LEAKS " + json.dumps(found))
"""


def quiz(folder: Path) -> None:
    """The instructor's quiz, written with nbgrader's cell metadata."""
    folder.mkdir(parents=True)

    def metadata(**nbgrader):
        base = {"schema_version": 3, "locked": False, "solution": False, "grade": False, "task": False}
        return {"nbgrader": {**base, **nbgrader}}

    cells = [
        nbformat.v4.new_markdown_cell("# Quiz 1", metadata=metadata(grade_id="title", locked=True)),
        nbformat.v4.new_code_cell(
            "def squares(n):\n    ### BEGIN SOLUTION\n    return [i * i for i in range(1, n + 1)]\n"
            "    ### END SOLUTION",
            metadata=metadata(grade_id="squares", solution=True),
        ),
        nbformat.v4.new_code_cell(
            f"assert squares(3) == [1, 4, 9]\n### BEGIN HIDDEN TESTS\nassert {HIDDEN}\n### END HIDDEN TESTS",
            metadata=metadata(grade_id="squares_test", grade=True, locked=True, points=2),
        ),
        nbformat.v4.new_code_cell(
            "assert squares(0) == []",
            metadata=metadata(grade_id="empty_test", grade=True, locked=True, points=1),
        ),
        nbformat.v4.new_markdown_cell(
            "Why do the squares grow?", metadata=metadata(grade_id="question", locked=True)
        ),
        nbformat.v4.new_markdown_cell(
            "YOUR ANSWER HERE", metadata=metadata(grade_id="explain", grade=True, solution=True, points=2)
        ),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / f"{QUIZ}.ipynb")


def answer(path: Path, code: str, text: str) -> None:
    """A student's work on the fetched quiz: the code answer and the written one."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "squares":
            cell.source = code
        elif grade_id == "explain":
            cell.source = text
    nbformat.write(notebook, path)


def scores(course: Path, assignment: str) -> dict[str, dict[str, float]]:
    """Per student, each grade cell's score in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        found = {}
        for submission in gradebook.find_assignment(assignment).submissions:
            found[submission.student.id] = {g.name: g.score for n in submission.notebooks for g in n.grades}
        return found


@pytest.fixture(scope="module")
def cycle(built_once, new_course, shared_pool):
    """The cycle, run once per test run (TP1's gradings in the test process's warm pool); what each
    step left behind, and how long each took."""

    def build(root: Path) -> dict:
        with shared_pool.used():
            return run_cycle(root, new_course)

    return built_once("plain-assignment", build)


def run_cycle(root: Path, new_course) -> dict:
    course = new_course(root / "course")
    real_source = Path(os.readlink(course / "source"))
    for name in ("source", "release"):  # the course's own: TP1's copied from the kit, and the quiz
        (course / name).unlink()
    shutil.copytree(
        real_source / TP,
        course / "source" / TP,
        ignore=shutil.ignore_patterns("*.ipynb", *notebooks.RUN_OUTPUTS),
    )
    (course / "release").mkdir()
    quiz(course / "source" / QUIZ)
    exchange = course / "exchange"
    env = {**os.environ, "TPDL_COURSE_DIR": str(course), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    student_side = ["--CourseDirectory.course_id=tpdl", f"--Exchange.root={exchange}"]
    steps: dict[str, float] = {}
    outputs: dict[str, str] = {}

    def step(name: str, command: list[str], cwd: Path = course, check: bool = True):
        started = time.monotonic()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
        steps[name] = steps.get(name, 0.0) + time.monotonic() - started
        outputs[name] = done.stdout + done.stderr
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done

    nbgrader = [str(BIN / "nbgrader")]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPDL_COURSE_DIR", str(course))
        started = time.monotonic()
        notebooks.release(TP)
        steps["tpdl release tp1"] = time.monotonic() - started
    step("generate_assignment", [*nbgrader, "generate_assignment", QUIZ])
    for assignment in (TP, QUIZ):
        step("release_assignment", [*nbgrader, "release_assignment", assignment, "--force"])
    homes = {name: root / name for name in ("alice", "bob", "mallory")}
    for name, home in homes.items():
        home.mkdir()
        for assignment in (TP, QUIZ) if name != "mallory" else (QUIZ,):
            step(
                "fetch_assignment",
                [*nbgrader, "fetch_assignment", assignment, f"--student={name}", *student_side],
                home,
            )
    shutil.copytree(paths.sample_submission("reference", TP), homes["alice"] / TP, dirs_exist_ok=True)
    answer(homes["alice"] / QUIZ / f"{QUIZ}.ipynb", RIGHT, "Each one adds an odd number.")
    answer(homes["bob"] / QUIZ / f"{QUIZ}.ipynb", WRONG, "They just do.")
    answer(homes["mallory"] / QUIZ / f"{QUIZ}.ipynb", ATTACK.format(course=str(course)), "")
    added = nbformat.read(homes["mallory"] / QUIZ / f"{QUIZ}.ipynb", as_version=4)
    added.cells.append(nbformat.v4.new_code_cell(LOOK_FOR_HIDDEN))
    nbformat.write(added, homes["mallory"] / QUIZ / f"{QUIZ}.ipynb")
    for name, home in homes.items():
        for assignment in (TP, QUIZ) if name != "mallory" else (QUIZ,):
            step("submit", [*nbgrader, "submit", assignment, f"--student={name}", *student_side], home)
    for assignment in (TP, QUIZ):
        step("collect", [*nbgrader, "collect", assignment])
    step("nbgrader autograde quiz1", [*nbgrader, "autograde", QUIZ])
    autograded = scores(course, QUIZ)
    step("tpdl grade tp1", [str(BIN / "tpdl"), "grade", TP, "--no-progress"])
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.find_grade("explain", QUIZ, QUIZ, "alice").manual_score = HAND_GRADE
        gradebook.db.commit()
    step("tpdl grade quiz1", [str(BIN / "tpdl"), "grade", QUIZ, "--no-progress", "--json", "quiz.json"])
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:  # formgrader's button: nbgrader's API, in this process
        from nbgrader.apps.api import NbGraderAPI
        from traitlets.config.loader import PyFileConfigLoader

        patch.setenv("TPDL_COURSE_DIR", str(course))
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
        button = NbGraderAPI(config=config).autograde(QUIZ, "bob", force=True)
    steps["formgrader's autograde button (bob)"] = time.monotonic() - started
    for assignment in (TP, QUIZ):
        step("generate_feedback", [*nbgrader, "generate_feedback", assignment, "--force"])
    step("export", [*nbgrader, "export", "--to", "export.csv"])
    step("unknown assignment", [str(BIN / "tpdl"), "grade", "quiz9"], check=False)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:  # a due date set after grading
        bob = gradebook.find_submission(QUIZ, "bob").timestamp
        gradebook.update_or_create_assignment(QUIZ, duedate=bob - datetime.timedelta(minutes=30))
    step(
        "tpdl grade quiz1, due date moved",
        [str(BIN / "tpdl"), "grade", QUIZ, "--no-progress", "--json", "late.json"],
    )
    return {"course": course, "steps": steps, "outputs": outputs, "autograded": autograded, "button": button}


def graded(cycle, student: str) -> Path:
    return cycle["course"] / "autograded" / student / QUIZ


def outputs_of(notebook: Path, grade_id: str) -> list[dict]:
    cells = nbformat.read(notebook, as_version=4).cells
    return next(c.outputs for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_the_quiz_is_graded_from_its_test_cells(cycle):
    """Are the quiz's points nbgrader's own, from the test cells run in the sandbox?"""
    expected = {
        "alice": {"squares_test": 2.0, "empty_test": 1.0},
        "bob": {"squares_test": 0.0, "empty_test": 1.0},  # the hidden test caught the wrong answer
        "mallory": {"squares_test": 0.0, "empty_test": 0.0},
    }
    after_button = scores(cycle["course"], QUIZ)
    for student, cells in expected.items():
        for cell, points in cells.items():
            assert cycle["autograded"][student][cell] == points, (student, cell, cycle["autograded"][student])
            assert after_button[student][cell] == points, (student, cell)
    assert after_button["alice"]["explain"] == HAND_GRADE
    assert cycle["button"]["success"], cycle["button"]
    errors = [o for o in outputs_of(graded(cycle, "bob") / f"{QUIZ}.ipynb", "squares_test") if "ename" in o]
    assert [o["ename"] for o in errors] == ["AssertionError"]
    traceback = re.sub(r"\x1b\[[0-9;]*m", "", "".join(errors[0]["traceback"]))  # without its colours
    assert HIDDEN in traceback  # the hidden test is what failed


def text_of(page: Path) -> str:
    """The text of an HTML page (tags removed, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def test_the_feedback_hides_the_hidden_tests(cycle):
    feedback = {
        s: text_of(cycle["course"] / "feedback" / s / QUIZ / f"{QUIZ}.html") for s in ("alice", "bob")
    }
    for student, page in feedback.items():
        assert "squares(3) == [1, 4, 9]" in page, student  # the visible test is shown
        assert "squares(10)" not in page and "HIDDEN" not in page, student
    assert "AssertionError" in feedback["bob"]


def test_export_and_the_kits_table_give_the_same_scores(cycle):
    course = cycle["course"]
    with open(course / "export.csv", newline="") as handle:
        exported = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(handle)}
    assert exported[(QUIZ, "alice")] == 3 + HAND_GRADE
    assert exported[(QUIZ, "bob")] == 1.0
    assert exported[(QUIZ, "mallory")] == 0.0
    kit = json.loads((course / "quiz.json").read_text())["students"]
    assert {s: kit[s]["totals"]["score"] for s in kit} == {s: exported[(QUIZ, s)] for s in kit}
    table = cycle["outputs"]["tpdl grade quiz1"]
    assert "5 / 5" in table and "locale" not in table
    with open(course / "reports" / QUIZ / "grades.csv", newline="") as handle:
        rows = {r["student"]: r for r in csv.DictReader(handle)}
    assert float(rows["bob"]["squares_test"]) == 0.0 and float(rows["bob"]["empty_test"]) == 1.0


def test_the_kits_tp_is_still_graded_by_its_judge(cycle):
    course = cycle["course"]
    for student in ("alice", "bob"):
        result = json.loads((course / "autograded" / student / TP / "results.json").read_text())
        total = sum(scores(course, TP)[student].values())
        assert result["score"] == total, student
    assert json.loads((course / "autograded" / "alice" / TP / "results.json").read_text())["score"] > 0
    assert not any((graded(cycle, s) / "results.json").exists() for s in ("alice", "bob", "mallory"))
    # The kit's feedback page for the TP (its own policy forbids any load), nbgrader's for the quiz.
    assert "Content-Security-Policy" in (course / "feedback" / "alice" / TP / f"{TP}.html").read_text()
    assert (
        "Content-Security-Policy" not in (course / "feedback" / "alice" / QUIZ / f"{QUIZ}.html").read_text()
    )


def test_an_unknown_assignment_names_the_courses_assignments(cycle):
    message = cycle["outputs"]["unknown assignment"]
    assert "unknown assignment 'quiz9'" in message and f"{QUIZ}, {TP}" in message and "locale" not in message


def test_the_quizs_code_cannot_reach_the_instructor(cycle):
    """Does mallory's code, run by nbgrader's autograde, stay in the sandbox, and earn nothing?"""
    course = cycle["course"]
    printed = "".join(
        o.get("text", "") for o in outputs_of(graded(cycle, "mallory") / f"{QUIZ}.ipynb", "squares")
    )
    proof = json.loads(printed.split("PROBES ", 1)[1])
    assert len(proof) == 12, proof  # every probe ran
    reached = {probe: outcome for probe, outcome in proof.items() if outcome in ("done", True)}
    assert not reached, reached
    for target in ("gradebook.db", "source/quiz1/quiz1.ipynb", "submitted/alice/quiz1/quiz1.ipynb"):
        assert (course / target).is_file()  # what the probes looked for is there, outside the sandbox
    assert not list(course.parent.rglob("pwned.txt"))
    assert (graded(cycle, "mallory") / "side-effect.txt").read_text() == "written by the notebook"
    assert not (graded(cycle, "mallory") / "results.json").exists()
    stamp = (course / "submitted" / "mallory" / QUIZ / "timestamp.txt").read_text()
    assert (graded(cycle, "mallory") / "timestamp.txt").read_text() == stamp
    assert "forged-page" not in text_of(course / "feedback" / "mallory" / QUIZ / f"{QUIZ}.html")
    assert sum(scores(course, QUIZ)["mallory"].values()) == 0


def test_the_hidden_tests_leave_no_trace_for_a_later_cell(cycle):
    """Once the test cells ran, can a later cell of mallory's print the hidden tests into her feedback?"""
    course = cycle["course"]
    cells = nbformat.read(graded(cycle, "mallory") / f"{QUIZ}.ipynb", as_version=4).cells
    printed = "".join(o.get("text", "") for o in cells[-1].outputs)
    assert json.loads(printed.split("LEAKS ", 1)[1]) == []
    assert "squares(10)" not in text_of(course / "feedback" / "mallory" / QUIZ / f"{QUIZ}.html")
    assert not (graded(cycle, "mallory") / "extra.ipynb").exists()  # its feedback was generated all the same


def test_a_due_date_set_after_grading_costs_the_late_students(cycle):
    kit = json.loads((cycle["course"] / "late.json").read_text())["students"]
    assert (
        kit["alice"]["totals"]["late_penalty"] == 1.0
        and kit["alice"]["totals"]["score"] == 3 + HAND_GRADE - 1
    )
    assert kit["bob"]["totals"]["late_penalty"] == 1.0 and kit["bob"]["totals"]["score"] == 0.0
    steps = {name: round(seconds, 1) for name, seconds in cycle["steps"].items()}
    print(f"steps of the plain quiz's cycle (s): {json.dumps(steps)}")
