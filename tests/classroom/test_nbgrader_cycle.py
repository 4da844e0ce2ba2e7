"""nbgrader's whole cycle on a scratch course and exchange, with the kit grading in the middle.

The instructor releases TP2 through the exchange; three students fetch it and submit (``alice``
with every deliverable, ``bob`` untouched, ``carol`` complete but after the due date); the
instructor collects, grades with ``tpdl grade``, grades the analysis by hand through nbgrader's
API, exports, and generates and releases feedback, which the students fetch. Every step is
nbgrader's own command line, run as an instructor or a student would.
"""

import contextlib
import csv
import datetime
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tpdl.core import paths

pytestmark = pytest.mark.slow

TP = "tp2"
HAND_GRADE = 2.5  # of the 3 points of TP2's analysis, given to alice by hand
COMMENT = "A careful comparison of the optimisers."
BIN = Path(sys.executable).parent


def run(command: list[str], cwd: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def cycle(built_once, new_course, shared_pool):
    """The cycle, run once per test run (its gradings in the test process's warm pool); what each
    step left behind, for the tests below."""

    def build(root: Path) -> dict:
        outside = os.environ.get("XDG_RUNTIME_DIR")
        with shared_pool.used():
            done = run_cycle(root, new_course)
        # The tests after it run in the process that asks, maybe not this one: never in this one's pool.
        done["env"].pop("XDG_RUNTIME_DIR")
        if outside is not None:
            done["env"]["XDG_RUNTIME_DIR"] = outside
        return done

    return built_once("nbgrader-cycle", build)


def run_cycle(root: Path, new_course) -> dict:
    course = new_course(root / "course")
    exchange = course / "exchange"
    env = {**os.environ, "TPDL_COURSE_DIR": str(course), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    nbgrader = [str(BIN / "nbgrader")]
    student_side = ["--CourseDirectory.course_id=tpdl", f"--Exchange.root={exchange}"]
    steps: dict[str, float] = {}

    def step(name: str, command: list[str], cwd: Path, check: bool = True):
        started = time.monotonic()
        done = run(command, cwd, env, check)
        steps[name] = steps.get(name, 0.0) + time.monotonic() - started
        return done

    step(
        "make lab's exchange",
        ["make", "-s", "-C", str(paths.course_dir()), "exchange", f"EXCHANGE={exchange}"],
        course,
    )
    step("release_assignment", [*nbgrader, "release_assignment", TP, "--force"], course)
    homes = {name: root / name for name in ("alice", "bob", "carol")}
    for name, home in homes.items():
        home.mkdir()
        step(
            "fetch_assignment", [*nbgrader, "fetch_assignment", TP, f"--student={name}", *student_side], home
        )
    for name in ("alice", "carol"):  # the reference work, with its tracking store and figure
        shutil.copytree(paths.sample_submission("reference", TP), homes[name] / TP, dirs_exist_ok=True)
    for name in ("alice", "bob"):
        step("submit", [*nbgrader, "submit", TP, f"--student={name}", *student_side], homes[name])
    due = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment(TP, duedate=due)
    time.sleep(1.5)
    step("submit", [*nbgrader, "submit", TP, "--student=carol", *student_side], homes["carol"])
    step("collect", [*nbgrader, "collect", TP, "--update"], course)
    grading = step("tpdl grade", [str(BIN / "tpdl"), "grade", TP, "--no-progress"], course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.find_grade("analysis", TP, TP, "alice").manual_score = HAND_GRADE
        gradebook.find_comment("analysis", TP, TP, "alice").manual_comment = COMMENT
        gradebook.db.commit()
    step(
        "tpdl grade (again)",
        [str(BIN / "tpdl"), "grade", TP, "--no-progress", "--json", "class.json"],
        course,
    )
    step("export", [*nbgrader, "export", "--to", "export.csv"], course)
    feedback = step("generate_feedback", [*nbgrader, "generate_feedback", TP, "--force"], course)
    step("release_feedback", [*nbgrader, "release_feedback", TP], course)
    for name, home in homes.items():
        step("fetch_feedback", [*nbgrader, "fetch_feedback", TP, f"--student={name}", *student_side], home)
    fetched = {
        name: "\n".join(p.read_text() for p in sorted((home / TP / "feedback").glob(f"*/{TP}.html")))
        for name, home in homes.items()
    }
    return {
        "course": course,
        "homes": homes,
        "env": env,
        "steps": steps,
        "grading": grading,
        "feedback": feedback,
        "fetched": fetched,
        "student_side": student_side,
    }


def result_of(cycle, student: str) -> dict:
    return json.loads((cycle["course"] / "autograded" / student / TP / "results.json").read_text())


def rows(path: Path) -> dict[str, dict]:
    """The rows of TP2 in a CSV of the kit's (``student``) or of ``nbgrader export`` (``student_id``)."""
    with open(path, newline="") as handle:
        return {
            row.get("student_id", row.get("student")): row
            for row in csv.DictReader(handle)
            if row.get("assignment", TP) == TP
        }


def test_collect_keeps_every_deliverable(cycle):
    submitted = cycle["course"] / "submitted" / "alice" / TP
    assert (submitted / "mlflow.db").is_file() and (submitted / "learning_curves.png").is_file()
    store = [c for c in result_of(cycle, "alice")["checks"] if c["cell"] == "train_and_log_tests"]
    assert store and all(c["passed"] for c in store if c["counted"]), [
        (c["name"], c["message"]) for c in store
    ]
    handed_in = next(c for c in store if c["name"] == "experiment_runs_handed_in")
    assert handed_in["passed"] or "lacks the MNIST training set" in handed_in["message"]
    assert "handed in but not collected" not in cycle["grading"].stdout
    print(f"nbgrader's cycle, seconds per step: {cycle['steps']}")


def test_one_total_everywhere(cycle):
    """The kit's CSV, its JSON and nbgrader's export agree, hand grades and late penalty included."""
    course = cycle["course"]
    kit = rows(course / "reports" / TP / "grades.csv")
    exported = rows(course / "export.csv")
    assert set(kit) == set(exported) == {"alice", "bob", "carol"}
    for student in kit:
        assert float(kit[student]["score"]) == pytest.approx(float(exported[student]["score"])), student
        assert float(kit[student]["max_score"]) == pytest.approx(float(exported[student]["max_score"]))
    automatic = {student: result_of(cycle, student)["score"] for student in kit}
    assert automatic["alice"] == automatic["carol"] == result_of(cycle, "alice")["max_score"] > 0
    assert float(kit["alice"]["manual"]) == HAND_GRADE
    assert float(kit["alice"]["score"]) == automatic["alice"] + HAND_GRADE
    assert float(kit["carol"]["late_penalty"]) == 1.0 == float(exported["carol"]["late_submission_penalty"])
    assert float(kit["carol"]["score"]) == automatic["carol"] - 1.0
    assert float(kit["bob"]["score"]) == 0.0
    totals = json.loads((course / "class.json").read_text())["students"]["alice"]["totals"]
    assert totals["score"] == automatic["alice"] + HAND_GRADE and totals["max_score"] == 31


def test_gradebook_complete_for_formgrader(cycle):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{cycle['course'] / 'gradebook.db'}") as gradebook:
        for student in ("alice", "bob", "carol"):
            submission = gradebook.find_submission(TP, student)
            assert submission.timestamp is not None
            flagged = {g.name for n in submission.notebooks for g in n.grades if g.needs_manual_grade}
            unmeasured = {c["cell"] for c in result_of(cycle, student)["checks"] if not c["counted"]}
            assert flagged == unmeasured | ({"analysis"} if student != "alice" else set()), student
    graded = cycle["course"] / "autograded" / "alice" / TP
    assert {"timestamp.txt", "submission_secret.txt", f"{TP}.ipynb", "results.json"} <= {
        p.name for p in graded.iterdir()
    }


def test_students_fetch_the_kits_feedback(cycle):
    fetched = cycle["fetched"]
    assert all(fetched.values()), {name: bool(page) for name, page in fetched.items()}
    alice = float(rows(cycle["course"] / "export.csv")["alice"]["score"])
    assert COMMENT in fetched["alice"] and f"{alice:g} / 31" in fetched["alice"]
    assert "waits for grading" in fetched["carol"] and "late" in fetched["carol"]
    untouched = json.loads((cycle["course"] / "autograded" / "bob" / TP / "results.json").read_text())
    failed = [c["message"] for c in untouched["checks"] if not c["passed"]]
    assert failed and all(
        message.replace("'", "&#39;") in fetched["bob"] or message in fetched["bob"] for message in failed[:3]
    )
    released = cycle["course"] / "feedback" / "alice" / TP
    assert not {"results.json", "grading.log"} & {p.name for p in released.iterdir()}


def test_generate_feedback_is_offered_no_setting_it_ignores(cycle):
    """Does ``generate_feedback`` run without traitlets' "Config option ... not recognized" warning?"""
    logged = cycle["feedback"].stdout + cycle["feedback"].stderr
    assert "Generating feedback for" in logged or "Converting notebook" in logged, logged[-2000:]
    assert "not recognized" not in logged, logged[-2000:]


@pytest.mark.usefixtures("in_shared_pool")
def test_nbgrader_autograde_runs_the_judge(cycle, tmp_path):
    course = tmp_path / "course"  # a copy: the other tests read the cycle's course meanwhile
    shutil.copytree(cycle["course"], course, symlinks=True)
    env = {**cycle["env"], "TPDL_COURSE_DIR": str(course), "XDG_RUNTIME_DIR": os.environ["XDG_RUNTIME_DIR"]}
    before = {s: r["score"] for s, r in rows(course / "reports" / TP / "grades.csv").items()}
    (course / "autograded" / "alice" / TP / "results.json").unlink()
    run([str(BIN / "nbgrader"), "autograde", TP, "--student=alice", "--force"], course, env)
    alice = json.loads((course / "autograded" / "alice" / TP / "results.json").read_text())
    assert alice["score"] == result_of(cycle, "carol")["score"] > 0
    assert not (course / "autograded" / "alice" / TP / "mlflow.db").exists()  # nbgrader's copy removed
    after = {s: r["score"] for s, r in rows(course / "reports" / TP / "grades.csv").items()}
    assert after == before  # the hand grade, the late penalty and the other students kept


# --------------------------------------------------------------------------- in a real browser

ARTIFACTS = paths.course_dir() / "test-artifacts" / "browser"  # screenshots, kept after the run
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (its own browser download is not used)."""
    if CHROMIUM is None:
        pytest.skip(
            "chromium is not installed (scripts/install-chromium installs it where root and apt allow)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (it is in requirements.lock: run make setup)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@contextlib.contextmanager
def jupyter_lab(root: Path, env: dict):
    """JupyterLab serving ``root`` (its nbgrader_config.py applies), until the block ends; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    command = [
        str(BIN / "jupyter"),
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--allow-root",
    ]
    with open(root / "jupyter-lab.log", "w") as log:
        server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                        break
                assert server.poll() is None, (root / "jupyter-lab.log").read_text()[-3000:]
                time.sleep(0.5)
            yield base, token
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def signed_in(browser, base: str, token: str):
    """A page signed in to the server at ``base``; ``page.requested`` lists every URL it asked for,
    ``page.failed`` those answered with an error."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.requested, page.failed = [], []
    page.on("request", lambda request: page.requested.append(request.url))
    page.on("response", lambda response: response.status >= 400 and page.failed.append(response.url))
    page.goto(f"{base}/login?next=%2Fapi%2Fstatus")
    page.fill("input[name=password]", token)
    page.click("#login_submit")
    page.wait_for_url("**/api/status", timeout=60_000)
    return page


@pytest.mark.browser
def test_formgrader_shows_the_kits_grades(cycle, browser):
    """Do formgrader's pages give the total of ``nbgrader export`` (late penalty and hand grades
    included), the judge's messages under each test cell, and the notebook's math typeset?"""
    course = cycle["course"]
    exported = rows(course / "export.csv")
    totals = json.loads((course / "class.json").read_text())["students"]
    late = float(exported["carol"]["late_submission_penalty"])
    assert late > 0 and float(exported["carol"]["raw_score"]) > float(exported["carol"]["score"])
    with jupyter_lab(course, cycle["env"]) as (base, token):
        page = signed_in(browser, base, token)
        page.goto(f"{base}/formgrader/manage_submissions/{TP}")
        page.wait_for_selector("td:has-text('carol')", timeout=60_000)
        table = page.inner_text("table")
        page.screenshot(path=ARTIFACTS / "formgrader-manage-submissions.png", full_page=True)
        for student, row in exported.items():
            line = next(line for line in table.splitlines() if f"\t{student}\t" in line)
            assert f"\t{float(row['score']):g} / {float(row['max_score']):g}\t" in line, line
            waits = bool(totals[student]["totals"]["waiting"])  # hand grading, or checks not run here
            assert ("needs manual grading" if waits else "graded") in line, line

        # The autograde button grades with the kit's judge, in its sandbox.
        page.locator("tr", has_text="bob").locator(".autograde a").click()
        modal = page.locator("#success-modal, #error-modal")
        modal.wait_for(timeout=300_000)
        page.screenshot(path=ARTIFACTS / "formgrader-autograde-button.png")
        assert "kit's judge" in modal.inner_text() and page.locator("#success-modal").count() == 1

        page.goto(f"{base}/formgrader/manage_students")
        page.wait_for_selector("td:has-text('carol')", timeout=60_000)
        table = page.inner_text("table")
        assert "not autograded" not in table
        page.screenshot(path=ARTIFACTS / "formgrader-manage-students.png", full_page=True)
        for student, row in exported.items():  # TP2 is the only assignment handed in
            line = next(line for line in table.splitlines() if f"\t{student}\t" in line)
            assert f"\t{float(row['score']):g} / " in line, line

        page.goto(f"{base}/formgrader/gradebook/{TP}/{TP}")
        page.wait_for_selector("a:has-text('Submission #')", timeout=60_000)
        page.locator("a", has_text="Submission #").first.click()
        page.wait_for_selector("text=Submission 1 /", timeout=60_000)
        page.wait_for_selector("input.score", timeout=60_000)
        page.wait_for_function("window.MathJax && window.MathJax.isReady", timeout=60_000)
        page.screenshot(path=ARTIFACTS / "formgrader-grading-view.png")
        # Everything formgrader's pages loaded came from the course's own server, MathJax included.
        assert any("/static/jupyter_server_mathjax/MathJax.js" in url for url in page.requested)
        # (about:blank: MathJax's blank test font, a request that reaches nothing)
        elsewhere = [
            url for url in page.requested if not url.startswith((f"{base}/", "data:", "about:blank"))
        ]
        assert not elsewhere, f"formgrader's pages loaded from outside the server: {elsewhere[:5]}"

        # bob's untouched notebook: under each test cell, its checks with their points and messages.
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
            notebook_id = gradebook.find_submission_notebook(TP, TP, "bob").id
        page.goto(f"{base}/formgrader/submissions/{notebook_id}/")
        page.wait_for_selector("input.score", timeout=60_000)
        page.wait_for_function("window.MathJax && window.MathJax.isReady", timeout=60_000)
        checks = result_of(cycle, "bob")["checks"]
        failed = [c for c in checks if c["counted"] and not c["passed"]]
        assert failed
        shown = set()
        for grade_id in dict.fromkeys(c["cell"] for c in failed):
            cell = page.locator("div.cell", has=page.locator(f"input.score[id='{grade_id}']"))
            output = cell.locator(".output_area pre").inner_text()
            for check in (c for c in checks if c["cell"] == grade_id):
                assert check["message"] in output, (grade_id, check["message"], output)
                assert f"{check['points']:g} / {check['max_points']:g}" in output
                shown.add(check["name"])
        assert "Traceback" not in page.inner_text("body")
        first = page.locator("div.cell", has=page.locator(f"input.score[id='{failed[0]['cell']}']"))
        first.scroll_into_view_if_needed()
        first.screenshot(path=ARTIFACTS / "formgrader-grading-view-checks.png")
        # The notebook's math is typeset by MathJax, not left as TeX.
        math = page.locator("div.text_cell_render", has_text="Inverted dropout").first
        page.wait_for_function(
            "document.querySelectorAll('.MathJax, .MathJax_CHTML').length > 0", timeout=60_000
        )
        math.scroll_into_view_if_needed()
        math.screenshot(path=ARTIFACTS / "formgrader-grading-view-math.png")
        assert math.locator(".MathJax, .MathJax_CHTML").count() > 0
        assert "$r$" not in math.inner_text()
        assert not [url for url in page.failed if "mathjax" in url.lower()], page.failed
        print(f"formgrader showed {len(shown)} of bob's checks under their cells")
        page.close()


@pytest.mark.browser
def test_a_student_fetches_validates_and_submits_in_jupyterlab(cycle, browser, tmp_path):
    home = tmp_path / "dave"
    home.mkdir()
    exchange = cycle["course"] / "exchange"
    (home / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        'c.CourseDirectory.course_id = "tpdl"\n'
        f"c.Exchange.root = {str(exchange)!r}\n"
        'c.CourseDirectory.student_id = "dave"\n'
        "c.Execute.timeout = 300\n"  # Validate's time per cell, as release/<tp>/nbgrader_config.py sets it
    )
    with jupyter_lab(home, cycle["env"]) as (base, token):
        page = signed_in(browser, base, token)
        page.goto(f"{base}/lab")
        page.click("text=Nbgrader", timeout=120_000)
        page.click("text=Assignment List")
        page.wait_for_selector("#released_assignments_list button:has-text('Fetch')", timeout=60_000)
        page.screenshot(path=ARTIFACTS / "assignment-list-released.png")
        page.click("#released_assignments_list button:has-text('Fetch')")
        page.wait_for_selector("#fetched_assignments_list .assignment-notebooks-link", timeout=60_000)
        assert (home / TP / f"{TP}.ipynb").is_file()
        # The student's work: the reference solution and what its full run wrote.
        shutil.copytree(paths.sample_submission("reference", TP), home / TP, dirs_exist_ok=True)
        handed_in = digest(home / TP)
        page.click("#fetched_assignments_list .assignment-notebooks-link")
        started = time.monotonic()
        page.click("#fetched_assignments_list button:has-text('Validate')")
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=300_000)
        seconds = time.monotonic() - started
        page.screenshot(path=ARTIFACTS / "assignment-list-validated.png")
        assert "passes all the tests" in dialog.inner_text(), dialog.inner_text()[-2000:]
        assert digest(home / TP) == handed_in, "validating changed the student's files"
        dialog.locator("button").last.click()
        page.click("#fetched_assignments_list button:has-text('Submit')")
        page.wait_for_selector("#submitted_assignments_list .list_item", timeout=60_000)
        page.screenshot(path=ARTIFACTS / "assignment-list-submitted.png")
        page.close()
    inbound = exchange / "tpdl" / "inbound"
    assert any(p.name.startswith(f"dave+{TP}+") for p in inbound.iterdir())
    print(f"Validate in JupyterLab ({TP}, a correct notebook): {seconds:.1f} s")
