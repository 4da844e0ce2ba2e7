"""Does `tpdl grade` grade a class as its contract says, and survive being interrupted?"""

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import nbformat
import pytest
import warm_pool

from tpdl import cli
from tpdl.classroom import cluster
from tpdl.classroom import run as classroom
from tpdl.core import paths

TPDL = [sys.executable, "-m", "tpdl.cli"]


def run_tpdl(*args, course, timeout=600):
    env = {**os.environ, "TPDL_COURSE_DIR": str(course)}
    return subprocess.run([*TPDL, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def sample_class(course):
    """The sample class, plus the attacker's notebook with its attack cell removed (its honest work)."""
    submissions = course / "submitted"
    shutil.copytree(paths.sample_class(), submissions)
    honest = submissions / "attacker-honest" / "tp1"
    honest.mkdir(parents=True)
    notebook = nbformat.read(submissions / "attacker" / "tp1" / "tp1.ipynb", as_version=4)
    notebook.cells = [c for c in notebook.cells if "tries to earn points" not in c.source]
    nbformat.write(notebook, honest / "tp1.ipynb")
    return submissions


@pytest.mark.slow
@pytest.mark.usefixtures("in_shared_pool")
def test_the_sample_class_is_graded_with_every_output(course, sample_class):
    done = run_tpdl(
        "grade",
        "tp1",
        "--submissions",
        str(sample_class),
        "--json",
        str(course / "class.json"),
        "--html",
        str(course / "class.html"),
        "--no-progress",
        course=course,
    )
    assert done.returncode == 0, done.stderr
    assert "reference" in done.stdout and "7 / 7" in done.stdout
    report = json.loads((course / "class.json").read_text())
    assert set(report) == {"assignment", "students", "refused"} and report["assignment"] == "tp1"
    assert report["refused"] == {}
    students = report["students"]
    for entry in students.values():
        assert set(entry) == {"score", "max_score", "not_counted", "checks", "totals"}
        assert entry["totals"]["automatic"] == entry["score"] and entry["totals"]["manual"] == 0
        for check in entry["checks"]:
            assert set(check) == {"name", "points", "max_points", "passed", "message"}
    # The pilot graders' 7 points, out of the gradebook's every grade cell (as nbgrader export gives
    # it): the 27 points of the cells no pilot grader checks are not counted yet, in every output.
    reference = students["reference"]
    assert (reference["score"], reference["max_score"], reference["not_counted"]) == (7, 34, 27)
    assert students["untouched"]["score"] == 0
    assert 0 < students["mistakes"]["score"] < 7
    assert students["attacker"]["score"] <= students["attacker-honest"]["score"]
    assert students["attacker-honest"]["score"] > 0, "the honest half of the attacker's work earns points"
    rows = list(csv.DictReader((course / "reports" / "tp1" / "grades.csv").open()))
    assert {r["student"]: float(r["score"]) for r in rows} == {s: e["score"] for s, e in students.items()}
    assert "<svg" in (course / "class.html").read_text()
    for student, entry in students.items():
        saved = json.loads((course / "autograded" / student / "tp1" / "results.json").read_text())
        assert saved["score"] == entry["score"] and saved["fingerprint"]
        feedback = (course / "feedback" / student / "tp1" / "tp1.html").read_text()
        assert "def test_" not in feedback and "RNG" not in feedback and "Traceback" not in feedback
    export = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", "--to", str(course / "export.csv")],
        cwd=course,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"},
    )
    assert export.returncode == 0, export.stderr
    exported = {
        r["student_id"]: float(r["raw_score"])
        for r in csv.DictReader((course / "export.csv").open())
        if r["assignment"] == "tp1"
    }
    assert exported == {s: e["score"] for s, e in students.items()}
    # One student regraded: the class outputs keep everyone else.
    again = run_tpdl(
        "grade",
        "tp1",
        "--submissions",
        str(sample_class),
        "--student",
        "reference",
        "--force",
        "--json",
        str(course / "one.json"),
        "--no-progress",
        "--profile",
        course=course,
    )
    assert again.returncode == 0, again.stderr
    timings = json.loads((course / "autograded" / "reference" / "tp1" / "profile.json").read_text())
    assert set(timings["checks_s"]) == {c["name"] for c in students["reference"]["checks"]}
    assert "notebook: start (runs the notebook)" in timings["requests"]
    assert "1 student(s)" in again.stderr and "| worker: request |" in again.stderr
    assert not (course / "autograded" / "untouched" / "tp1" / "profile.json").exists(), "only with --profile"
    assert json.loads((course / "one.json").read_text())["students"] == students
    rows_after = list(csv.DictReader((course / "reports" / "tp1" / "grades.csv").open()))
    assert {r["student"]: r["score"] for r in rows_after} == {r["student"]: r["score"] for r in rows}


def _files(*folders) -> dict:
    """Every file under ``folders``, with its bytes."""
    return {path: path.read_bytes() for folder in folders for path in folder.rglob("*") if path.is_file()}


@pytest.mark.slow
@pytest.mark.usefixtures("in_shared_pool")
def test_another_folder_is_graded_apart_from_the_class(course, sample_class, tmp_path):
    """Does grading a folder other than submitted/ (the sample class, a folder of clones) write
    under a folder of its own, named in the output, and leave the class's gradebook, autograded/,
    feedback/ and reports/<tp>/ as they were?"""
    from nbgrader.api import Gradebook

    done = run_tpdl("grade", "tp1", "--student", "reference", "--no-progress", course=course)
    assert done.returncode == 0, done.stderr
    class_files = _files(course / "autograded", course / "feedback", course / "reports")
    with Gradebook(paths.gradebook_url()) as gradebook:
        before = {(s.student.id, s.score) for s in gradebook.assignment_submissions("tp1")}
    clones = tmp_path / "git clones"
    for student in ("untouched", "newcomer"):
        shutil.copytree(
            paths.sample_submission("reference" if student == "newcomer" else student, "tp1"),
            clones / student / "tp1",
        )
    done = run_tpdl("grade", "tp1", "--submissions", str(clones), "--no-progress", course=course)
    assert done.returncode == 0, done.stderr
    apart = course / "reports" / "tp1" / "git_clones"
    assert f"graded apart from the class: results, feedback and reports in {apart}/" in done.stdout
    rows = {r["student"]: float(r["score"]) for r in csv.DictReader((apart / "grades.csv").open())}
    assert rows == {"untouched": 0, "newcomer": 7}
    assert "<svg" in (apart / "report.html").read_text()
    for student in rows:
        saved = json.loads((apart / "autograded" / student / "tp1" / "results.json").read_text())
        assert saved["student"] == student and saved["fingerprint"]
        assert (apart / "feedback" / student / "tp1" / "tp1.html").is_file()
    everything_now = _files(course / "autograded", course / "feedback", course / "reports")
    assert {p: b for p, b in everything_now.items() if not p.is_relative_to(apart)} == class_files
    with Gradebook(paths.gradebook_url()) as gradebook:
        assert {(s.student.id, s.score) for s in gradebook.assignment_submissions("tp1")} == before
        assert [s.id for s in gradebook.students] == ["reference"]


def test_the_outputs_of_a_folder_graded_apart_are_never_the_class(tmp_path, monkeypatch):
    monkeypatch.setenv("TPDL_COURSE_DIR", str(tmp_path))
    assert classroom.outputs_for("tp1", tmp_path / "submitted", None).apart is None
    outputs = classroom.outputs_for("tp1", tmp_path / "elsewhere" / "Sample class!", None)
    assert outputs.apart == tmp_path / "reports" / "tp1" / "Sample_class"
    assert outputs.graded("bob") == outputs.apart / "autograded" / "bob" / "tp1"
    assert outputs.feedback_of("bob") == outputs.apart / "feedback" / "bob" / "tp1"
    assert outputs.reports == outputs.apart
    assert classroom.outputs_for("tp1", tmp_path / "x", tmp_path / "mine").apart == tmp_path / "mine"
    with pytest.raises(classroom.UsageError, match="--out is for a folder graded apart from the class"):
        classroom.outputs_for("tp1", tmp_path / "submitted", tmp_path / "mine")
    for held in ("", "autograded", "feedback/bob", "reports", "reports/tp1", "exchange/tpdl/outbound"):
        with pytest.raises(classroom.UsageError, match="the class's own folder"):
            classroom.outputs_for("tp1", tmp_path / "x", tmp_path / held)


CLONES = 3  # of the reference: with the sample class's five, the run is killed after three students


@pytest.mark.slow
@pytest.mark.usefixtures("in_shared_pool")
def test_a_class_killed_mid_run_is_finished_by_running_again(course, sample_class):
    for copy in range(CLONES):
        shutil.copytree(sample_class / "reference", sample_class / f"clone-{copy}")
    env = {**os.environ, "TPDL_COURSE_DIR": str(course)}
    process = subprocess.Popen(
        [*TPDL, "grade", "tp1", "--submissions", str(sample_class), "--no-progress"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while len(list((course / "autograded").glob("*/tp1/results.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    first = {p.parent.parent.name for p in (course / "autograded").glob("*/tp1/results.json")}
    handed_in = {p.name for p in sample_class.iterdir() if (p / "tp1").is_dir()}  # not reference-fr's
    class_size = len(handed_in)
    assert 3 <= len(first) < class_size, "the run should have been interrupted half-way"
    done = run_tpdl(
        "grade",
        "tp1",
        "--submissions",
        str(sample_class),
        "--no-progress",
        "--json",
        str(course / "class.json"),
        course=course,
    )
    assert done.returncode == 0, done.stderr
    students = json.loads((course / "class.json").read_text())["students"]
    assert set(students) == handed_in
    assert all(students[f"clone-{c}"]["score"] == 7 for c in range(CLONES))
    rows = list(csv.DictReader((course / "reports" / "tp1" / "grades.csv").open()))
    assert len(rows) == len(students), "a student was lost or counted twice"
    assert sum("unchanged since last run" in row["note"] for row in rows) == len(first)


# Written where a submission has none: the time of grading and a fresh secret, different every run.
STAND_INS = ("timestamp.txt", "submission_secret.txt")


def _outputs(course) -> dict:
    """Each student's results.json (timing left out) and feedback files, as a run left them."""
    outputs = {}
    for saved in (course / "autograded").glob("*/tp1/results.json"):
        student = saved.parent.parent.name
        results = json.loads(saved.read_text())
        del results["seconds"]
        feedback = course / "feedback" / student / "tp1"
        pages = {p.name: p.read_bytes() for p in feedback.iterdir() if p.name not in STAND_INS}
        outputs[student] = {"results": results, "feedback": pages}
    return outputs


@pytest.mark.slow
@pytest.mark.usefixtures("in_shared_pool")
def test_two_judges_give_the_same_grades_as_one(course, sample_class):
    """Do two judge processes grade as one judge does, and write the same outputs? (A cluster's workers
    are compared with one judge in ``test_cluster_tls.py``.)"""
    one = classroom.grade_class("tp1", sample_class, progress=False, force=True)
    graded_by_one = _outputs(course)
    two = classroom.grade_class("tp1", sample_class, jobs=2, progress=False, force=True)
    assert not two.infrastructure

    def checks(outcome):
        keys = ("name", "points", "passed", "message")
        return {s: [[c[k] for k in keys] for c in r["checks"]] for s, r in outcome.students.items()}

    assert checks(two) == checks(one)
    scores = {s: r["score"] for s, r in one.students.items()}
    assert {s: r["score"] for s, r in two.students.items()} == scores
    assert _outputs(course) == graded_by_one


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grade", "tp9"], "unknown assignment 'tp9'"),
        (["grade", "tp1", "--jobs", "0"], "--jobs must be at least 1"),
        (["grade", "tp1", "--submissions", "/nonexistent/folder"], "no submissions folder"),
        (["grade", "tp1", "--jobs", "2", "--cluster", "tcp://host:8786"], "--cluster and --jobs exclude"),
    ],
)
def test_usage_errors_exit_non_zero_with_a_message(course, args, message):
    done = run_tpdl(*args, course=course, timeout=120)
    assert done.returncode == 2 and message in done.stderr


def test_an_unreachable_cluster_stops_with_its_address(course, sample_class, monkeypatch, capsys):
    """Does --cluster with no scheduler at the address exit 3 with a message naming it, no traceback?"""
    monkeypatch.setattr(cluster, "CONNECT_S", 1)
    monkeypatch.setenv("PATH", os.environ["PATH"])  # cli.main puts the environment's bin/ first
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound and never listening: every connection to it is refused
        address = f"tcp://127.0.0.1:{unused.getsockname()[1]}"
        code = cli.main(
            [
                "grade",
                "tp1",
                "--submissions",
                str(sample_class),
                "--cluster",
                address,
                "--insecure-cluster",
                "--no-progress",
            ]
        )
    error = capsys.readouterr().err
    assert code == 3 and f"cannot reach the Dask scheduler at {address}" in error
    assert "Traceback" not in error


def test_a_second_run_at_the_same_time_is_refused(course, sample_class):
    (course / "autograded").mkdir()
    import fcntl

    with open(course / "autograded" / ".grading.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = run_tpdl("grade", "tp1", "--submissions", str(sample_class), course=course, timeout=120)
    assert done.returncode == 2 and "another grading run" in done.stderr


@pytest.mark.slow
def test_a_warm_pool_grades_like_a_fresh_sandbox(course, sample_class, tmp_path):
    env = {**os.environ, "TPDL_COURSE_DIR": str(course), "XDG_RUNTIME_DIR": str(tmp_path)}
    with warm_pool.serving(tmp_path, env=env) as pool:
        runs = []
        for _ in range(2):
            done = subprocess.run(
                [
                    *TPDL,
                    "grade",
                    "tp1",
                    "--submissions",
                    str(sample_class),
                    "--force",
                    "--no-progress",
                    "--json",
                    str(course / "class.json"),
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr
            assert pool.stdout.readline().strip() == "served a grading run"
            runs.append(
                {
                    s: e["score"]
                    for s, e in json.loads((course / "class.json").read_text())["students"].items()
                }
            )
    assert runs[0] == runs[1]
    assert runs[0]["reference"] == 7 and runs[0]["untouched"] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="workers run as users of their own only when the judge is root")
def test_jails_side_by_side_never_share_users():
    """A fork bomb in one jail must not starve another's worker: the process limit counts per user."""
    from tpdl.judge import sandbox

    first, lock = sandbox.reserve_users()
    try:
        second, other = sandbox.reserve_users()
        other.close()
        elsewhere = subprocess.run(
            [sys.executable, "-c", "from tpdl.judge import sandbox; print(sandbox.reserve_users()[0])"],
            capture_output=True,
            text=True,
            check=True,
        )
        for base in (second, int(elsewhere.stdout)):
            assert abs(base - first) >= sandbox.USER_BLOCK, f"users {base}.. overlap the held block {first}.."
    finally:
        lock.close()
