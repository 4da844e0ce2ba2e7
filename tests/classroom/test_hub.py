"""A term of the course on a real JupyterHub: `tpdl hub up` (make hub), accounts, PAM, a browser.

One test plays the whole term, in order, on one hub (live servers cannot be handed from one
pytest-xdist worker to another): the hub is made from a roster of an instructor and three
students, with `tpdl hub up` as `make hub` runs it; the students' accounts are tried as attackers
would (the course, the gradebook, the exchange's other folders, each other's homes and
submissions); then, through the hub's login page in Debian's chromium, the instructor releases
TP2 in formgrader, the students fetch, validate and submit in JupyterLab's Assignment List (bob
hands in twice, carol after the due date), bob forges a submission in alice's name and tries
hers, the instructor collects, grades with the kit's judge (formgrader's autograde button),
grades alice's written answer by hand, generates and releases feedback, and each student fetches
their own. `tpdl hub down` then removes every account, process and file it made. Screenshots:
test-artifacts/hub/.
"""

import csv
import datetime
import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from tpdl.classroom import hub as hub_module
from tpdl.core import paths

pytestmark = [pytest.mark.slow, pytest.mark.hub]

TP = "tp2"
BIN = Path(sys.executable).parent
ARTIFACTS = paths.course_dir() / "test-artifacts" / "hub"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RUNUSER = shutil.which("runuser") or "runuser"
WAIT_MS = 300_000  # a server's start, a notebook's validation, a grading
LAST_NAME = "Dupont-Élève"  # the roster's names reach the gradebook (UTF-8)
HAND_GRADE = 3.0  # alice's analysis, graded by hand (its maximum)


def why_no_hub() -> str | None:
    """Why this machine cannot run the hub's test, or None."""
    if os.geteuid() != 0:
        return "the hub makes Unix accounts: run as root"
    for tool in ("useradd", "chpasswd", "npm", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not os.access("/usr/bin/python3.11", os.X_OK):
        return "/usr/bin/python3.11 is not installed (every account must be able to run the hub's Python)"
    if CHROMIUM is None:
        return "chromium is not installed (scripts/install-chromium installs it where root and apt allow)"
    return None


def tpdl(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "tpdl"), *args], capture_output=True, text=True, timeout=timeout, cwd=paths.course_dir()
    )


class Hub:
    """A hub made by `tpdl hub up` for this test: its settings, its people and how to act as them."""

    def __init__(self, root: Path, settings: dict, up_seconds: float, said: str):
        self.root, self.settings, self.up_seconds, self.said = root, settings, up_seconds, said
        with open(root / "passwords.csv", newline="") as handle:
            self.passwords = {row["id"]: row["password"] for row in csv.DictReader(handle)}
        self.instructor = settings["instructor"]
        self.students = settings["students"]
        self.course = Path(settings["course"])
        self.exchange = root / "exchange" / settings["course_id"]
        self.url = f"http://{settings['host']}:{settings['port']}"  # each user's server: <user>.<host>

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    def as_user(self, user: str, code: str, cwd: Path | None = None) -> dict:
        """Run Python ``code`` as ``user`` with the hub's environment; the JSON it prints last."""
        env = {
            "HOME": str(self.home(user)),
            "USER": user,
            "PATH": f"{self.settings['env']}/bin:/usr/bin:/bin",
            "JUPYTER_CONFIG_PATH": self.settings["config"]["student"],
        }
        done = subprocess.run(
            [RUNUSER, "-u", user, "--", f"{self.settings['env']}/bin/python", "-c", code],
            env=env,
            cwd=cwd or self.home(user),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def nbgrader_as(self, user: str, *args: str) -> subprocess.CompletedProcess:
        """nbgrader's command line as ``user`` (the instructor's in the course, with the whole kit)."""
        instructor = user == self.instructor
        env = {
            "HOME": str(self.home(user)),
            "USER": user,
            "PATH": f"{self.settings['env']}/bin:/usr/bin:/bin",
            "JUPYTER_CONFIG_PATH": self.settings["config"]["instructor" if instructor else "student"],
        }
        if instructor:
            env["PYTHONPATH"] = str(self.course)
        return subprocess.run(
            [RUNUSER, "-u", user, "--", f"{self.settings['env']}/bin/nbgrader", *args],
            env=env,
            cwd=self.course if instructor else self.home(user),
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture(scope="module")
def hub(released):
    why = why_no_hub()
    if why:
        pytest.skip(why)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tag = os.urandom(2).hex()  # accounts of their own, whatever else runs on this machine
    root = Path(tempfile.mkdtemp(prefix="tpdl-hub-"))
    os.chmod(root, 0o755)  # every account reaches the hub's environment
    roster = root.parent / f"{root.name}-roster.csv"
    people = [("prof", "instructor"), ("alice", "student"), ("bob", "student"), ("carol", "student")]
    roster.write_text(
        "id,role,first_name,last_name\n"
        + "".join(f"{name}{tag},{role},{name.title()},{LAST_NAME}\n" for name, role in people)
    )
    started = time.monotonic()
    port = str(hub_module.free_port())
    made = tpdl("hub", "up", "--roster", str(roster), "--root", str(root / "hub"), "--port", port)
    up_seconds = time.monotonic() - started
    uids = set()
    try:
        assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
        settings = json.loads((root / "hub" / "hub.json").read_text())
        uids = {pwd.getpwnam(name).pw_uid for name in settings["accounts"]}
        yield Hub(root / "hub", settings, up_seconds, made.stdout)
    finally:
        removed = tpdl("hub", "down", "--root", str(root / "hub"))
        roster.unlink()
        kept = list(root.glob("hub-course-*.tar.gz"))
        shutil.rmtree(root, ignore_errors=True)
        assert removed.returncode == 0, removed.stderr
        if uids:  # the course was made: it is saved before its account goes
            assert len(kept) == 1 and "saved first in" in removed.stdout, removed.stdout
        for name, _ in people:
            with pytest.raises(KeyError):
                pwd.getpwnam(f"{name}{tag}")
        assert not (root / "hub").exists()
        left = [
            p.info for p in psutil.process_iter(["pid", "uids", "cmdline"]) if p.info["uids"].real in uids
        ]
        assert not left, f"processes of the hub's accounts left running: {left}"


# --------------------------------------------------------------------------- what each account may touch

# Run as a student: every attempt, and what stopped it ("done" where nothing did).
ATTEMPTS = """
import json, os, sys
attempts = {}
def attempt(name, action):
    try:
        action()
        attempts[name] = "done"
    except Exception as error:
        attempts[name] = type(error).__name__
for name, path in json.loads(sys.argv[1] if len(sys.argv) > 1 else %r).items():
    if name.startswith("list "):
        attempt(name, lambda path=path: os.listdir(path))
    elif name.startswith("write "):
        attempt(name, lambda path=path: open(path, "w").write("pwned"))
    elif name.startswith("remove "):
        attempt(name, lambda path=path: os.rmdir(path) if os.path.isdir(path) else os.unlink(path))
    elif name.startswith("rename "):
        attempt(name, lambda path=path: os.rename(path, path + "-moved"))
    else:
        attempt(name, lambda path=path: open(path, "rb").read(16))
print(json.dumps(attempts))
"""


def attempts_as(hub: Hub, user: str, targets: dict[str, str]) -> dict[str, str]:
    return hub.as_user(user, ATTEMPTS % json.dumps(targets))


def test_a_term_on_the_hub(hub):
    """Does a class get through a term on the hub, each student reaching their own work only?"""
    print(f"tpdl hub up: {hub.up_seconds:.1f} s")
    alice, bob, carol = hub.students
    prof = hub.instructor

    # --- what `tpdl hub up` made
    assert "JupyterHub answers at" in hub.said and "passwords (root's only)" in hub.said
    assert stat.S_IMODE((hub.root / "passwords.csv").stat().st_mode) == 0o600
    for user in (prof, *hub.students):
        assert stat.S_IMODE(hub.home(user).stat().st_mode) == 0o700, user
    inbound = hub.exchange / "inbound"
    assert stat.S_IMODE(inbound.stat().st_mode) == 0o3733  # add only; nobody lists; sticky

    # The students' environment holds the student runtime, nothing of the judge, graders or solutions.
    found = hub.as_user(
        alice,
        "import importlib.util, json, tpdl, tpdl.course\n"
        "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in "
        "('tpdl.course', 'tpdl.judge', 'tpdl.grading', 'tpdl.classroom', 'tpdl.authoring')}))",
    )
    assert found == {
        "tpdl.course": True,
        "tpdl.judge": False,
        "tpdl.grading": False,
        "tpdl.classroom": False,
        "tpdl.authoring": False,
    }
    env = Path(hub.settings["env"])
    assert not [p for p in env.rglob("*") if p.name in ("graders", "solutions") or p.name.endswith(".nb.py")]

    # A student can read nothing of the course, the other homes or the exchange's closed folders.
    course = hub.course
    denied = attempts_as(
        hub,
        alice,
        {
            "read a grader": str(course / "graders" / TP / "manifest.toml"),
            "read the solutions": str(course / "source" / TP / f"{TP}.nb.py"),
            "read the gradebook": str(course / "gradebook.db"),
            "read the course's settings": str(course / "nbgrader_config.py"),
            "list the instructor's home": str(hub.home(prof)),
            "list another student's home": str(hub.home(bob)),
            "list the inbound submissions": str(inbound),
            "read the hub's passwords": str(hub.root / "passwords.csv"),
            "read the hub's state": str(hub.root / "state" / "jupyterhub.sqlite"),
            "write into the course's exchange": str(hub.exchange / "pwned.txt"),
            "remove the course's exchange": str(hub.exchange),
        },
    )
    assert set(denied.values()) == {"PermissionError"}, denied

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            term(hub, browser)
        finally:
            browser.close()


def log_in(hub: Hub, browser, user: str):
    """A page of ``user``'s, logged in through the hub's login page, on their JupyterLab."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.passwords[user])
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=WAIT_MS)
    return page


def shot(page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def assignment_list(page):
    page.click("text=Nbgrader", timeout=WAIT_MS)
    page.click("text=Assignment List")


def fetch(page, hub: Hub, user: str) -> None:
    assignment_list(page)
    page.wait_for_selector("#released_assignments_list button:has-text('Fetch')", timeout=WAIT_MS)
    page.click("#released_assignments_list button:has-text('Fetch')")
    page.wait_for_selector("#fetched_assignments_list .assignment-notebooks-link", timeout=WAIT_MS)
    assert (hub.home(user) / TP / f"{TP}.ipynb").is_file()


LURE = """<!doctype html><html><body><pre id="said">waiting</pre><script>
(async () => {
  const said = [];
  for (const hub of ["", "HUB"]) {
    try {
      const home = await (await fetch(hub + "/hub/home", {credentials: "include"})).text();
      const xsrf = (home.match(/xsrf_token: "([^"]+)"/) || [])[1];
      const headers = xsrf ? {"X-XSRFToken": xsrf} : {};
      const user = await fetch(hub + "/hub/api/user", {credentials: "include", headers});
      said.push(hub + " api/user " + user.status + " " + (user.ok ? JSON.stringify(await user.json()) : ""));
    } catch (error) {
      said.push(hub + " refused: " + error);
    }
  }
  document.getElementById("said").textContent = said.join("\\n");
})();
</script></body></html>
"""


def lure(hub: Hub, student: str) -> None:
    """``student``'s server serves, to anyone, a page whose script asks the hub who is looking, as
    the one who opens it (the student's own settings: no one else's are needed)."""
    home = hub.home(student)
    (home / ".jupyter").mkdir()
    (home / ".jupyter" / "jupyter_server_config.py").write_text(
        f"c.ServerApp.extra_static_paths = [{str(home / '.lure')!r}]\n"
    )
    (home / ".lure").mkdir()
    (home / ".lure" / "lure.html").write_text(LURE.replace("HUB", hub.url))
    subprocess.run(
        ["chown", "-R", f"{student}:{student}", str(home / ".jupyter"), str(home / ".lure")], check=True
    )


def falls_for_the_lure(hub: Hub, page, student: str) -> str:
    """What the lure's script of ``student`` got in the browser of ``page``'s user."""
    page.goto(
        f"http://{student}.{hub.settings['host']}:{hub.settings['port']}/user/{student}/static/lure.html"
    )
    page.wait_for_function("document.getElementById('said').textContent !== 'waiting'", timeout=60_000)
    return page.inner_text("#said")


TRAP = """import os
with open({marker!r}, "a") as marker:
    marker.write(f"ran as uid {{os.getuid()}}\\n")
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


def trap(hub: Hub, student: str) -> Path:
    """An ``ipykernel_launcher.py`` beside ``student``'s notebook, noting whoever runs it."""
    marker = Path(tempfile.gettempdir()) / f"tpdl-hub-trap-{student}"
    path = hub.home(student) / TP / "ipykernel_launcher.py"
    path.write_text(TRAP.format(marker=str(marker)))
    subprocess.run(["chown", f"{student}:{student}", str(path)], check=True)
    return marker


def work(hub: Hub, user: str, sample: str) -> None:
    """``user``'s work on TP2: a student of the sample class's, put in their folder as theirs."""
    folder = hub.home(user) / TP
    shutil.copytree(paths.sample_submission(sample, TP), folder, dirs_exist_ok=True)
    subprocess.run(["chown", "-R", f"{user}:{user}", str(folder)], check=True)


def validate(page) -> str:
    page.click("#fetched_assignments_list .assignment-notebooks-link")
    page.click("#fetched_assignments_list button:has-text('Validate')")
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=WAIT_MS)
    said = dialog.inner_text()
    return said


def close_dialog(page) -> None:
    page.locator(".jp-Dialog button").last.click()
    page.locator(".jp-Dialog").wait_for(state="detached", timeout=60_000)


def submit(page, times: int) -> None:
    page.click("#fetched_assignments_list button:has-text('Submit')")
    page.wait_for_function(
        f"document.querySelectorAll('#submitted_assignments_list .list_item').length >= {times}",
        timeout=WAIT_MS,
    )


def formgrader_row(page, assignment: str):
    return page.locator("#main-table tr", has=page.locator(f"td.name[data-order='{assignment}']"))


def modal_says(page) -> str:
    """The text of formgrader's answer to a button (its success or error window), once closed."""
    modal = page.locator("#success-modal, #error-modal")
    modal.first.wait_for(timeout=WAIT_MS)
    said = modal.first.inner_text()
    ok = page.locator("#success-modal").count() == 1
    modal.first.locator(".modal-footer button").click()
    modal.first.wait_for(state="detached", timeout=60_000)
    assert ok, said
    return said


def wait_for(found, seconds: float = 120):
    """What ``found()`` gives once it gives something, or its last answer after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (answer := found()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return answer


def inbound_of(hub: Hub, student: str) -> list[Path]:
    return sorted(p for p in (hub.exchange / "inbound").iterdir() if p.name.startswith(f"{student}+{TP}+"))


def term(hub: Hub, browser) -> None:
    alice, bob, carol = hub.students
    prof = hub.instructor

    # The instructor releases TP2 with formgrader's button.
    teacher = log_in(hub, browser, prof)
    teacher.goto(f"{hub.url}/user/{prof}/formgrader/manage_assignments")
    row = formgrader_row(teacher, TP)
    row.locator("td.release a").click(timeout=WAIT_MS)
    teacher.wait_for_selector("#main-table td.status[data-order='released']", timeout=WAIT_MS)
    shot(teacher, "1-instructor-released")

    # alice hands in the reference work, validated first; bob hands in twice, the second after validating.
    lure(hub, bob)  # bob's server will serve a page that tries to act as whoever opens it
    pages = {user: log_in(hub, browser, user) for user in hub.students}
    for user, page in pages.items():
        fetch(page, hub, user)
    shot(pages[alice], "2-student-fetched")
    work(hub, alice, "reference")
    said = validate(pages[alice])
    shot(pages[alice], "3-student-validated")
    assert "passes all the tests" in said, said[-2000:]
    close_dialog(pages[alice])
    submit(pages[alice], 1)
    submit(pages[bob], 1)  # bob's first hand-in: the release, untouched
    work(hub, bob, "mistakes")
    said = validate(pages[bob])
    assert "passes all the tests" not in said, said[-2000:]
    close_dialog(pages[bob])
    marker = trap(hub, bob)  # handed in beside his notebook: a module a kernel started there would import
    submit(pages[bob], 2)
    shot(pages[bob], "4-student-resubmitted")
    assert len(inbound_of(hub, bob)) == 2

    # The due date passes; carol hands in late.
    due = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    done = hub.nbgrader_as(prof, "db", "assignment", "add", TP, f"--duedate={due.isoformat()} UTC")
    assert done.returncode == 0, done.stderr[-2000:]
    time.sleep(1.5)
    work(hub, carol, "reference")
    submit(pages[carol], 1)

    # Each submission is its student's, readable by the instructor's group only.
    for user in hub.students:
        for folder in inbound_of(hub, user):
            info = folder.stat()
            assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (hub.home(user).stat().st_uid, 0o750), folder
            assert grp.getgrgid(info.st_gid).gr_name == prof
            for path in folder.rglob("*"):
                assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path

    # bob, knowing the name of alice's submission, tries to read, change, replace or remove it; then he
    # hands in in her name twice: with nbgrader's own command, and as a folder of his own making.
    (alices,) = inbound_of(hub, alice)
    handed_in = {p.relative_to(alices): p.read_bytes() for p in alices.rglob("*") if p.is_file()}
    tried = attempts_as(
        hub,
        bob,
        {
            "list alice's submission": str(alices),
            "read alice's notebook": str(alices / f"{TP}.ipynb"),
            "read alice's submission secret": str(alices / "submission_secret.txt"),
            "write into alice's submission": str(alices / "pwned.txt"),
            "write over alice's notebook": str(alices / f"{TP}.ipynb"),
            "rename alice's submission": str(alices),
            "remove alice's submission": str(alices),
        },
    )
    assert set(tried.values()) == {"PermissionError"}, tried
    forged = hub.nbgrader_as(bob, "submit", TP, f"--student={alice}")
    assert forged.returncode == 0, forged.stderr[-2000:]  # nbgrader's submit lets him: collect must not
    time.sleep(1.1)
    made = hub.as_user(
        bob,
        "import json, os, shutil, time\n"
        f"name = '{alice}+{TP}+' + time.strftime('%Y-%m-%d %H:%M:%S.000000 UTC', time.gmtime()) + '+forged'\n"
        f"folder = os.path.join({str(hub.exchange / 'inbound')!r}, name)\n"
        f"shutil.copytree(os.path.expanduser('~/{TP}'), folder)\n"
        "print(json.dumps({'made': name}))",
    )
    forgeries = [p for p in inbound_of(hub, alice) if p != alices]
    assert len(forgeries) == 2 and made["made"] in {p.name for p in forgeries}
    assert all(p.stat().st_uid == hub.home(bob).stat().st_uid for p in forgeries)

    # The instructor collects, grades with the kit's judge, grades by hand, gives feedback.
    teacher.goto(f"{hub.url}/user/{prof}/formgrader/manage_assignments")
    formgrader_row(teacher, TP).locator("td.collect a").click(timeout=WAIT_MS)
    said = modal_says(teacher)
    assert "Successfully collected" in said, said
    # The instructor opens bob's collected notebook in JupyterLab: its kernel imports nothing of bob's.
    assert (hub.course / "submitted" / bob / TP / "ipykernel_launcher.py").is_file()
    teacher.goto(f"{hub.url}/user/{prof}/lab/tree/submitted/{bob}/{TP}/{TP}.ipynb")
    teacher.wait_for_selector(".jp-Notebook", timeout=WAIT_MS)
    teacher.wait_for_selector("text=| Idle", timeout=WAIT_MS)  # the status bar: its kernel runs
    ran = marker.read_text() if marker.exists() else ""
    assert f"uid {pwd.getpwnam(prof).pw_uid}\n" not in ran, f"bob's module ran in the instructor's: {ran}"
    # bob's server serves a page that asks the hub who is looking: the instructor opens it.
    said = falls_for_the_lure(hub, teacher, bob)
    assert prof not in said and "refused" in said, said
    collected = hub.course / "submitted" / alice / TP / f"{TP}.ipynb"
    assert collected.read_bytes() == handed_in[Path(f"{TP}.ipynb")], "alice's collected work is not hers"
    teacher.goto(f"{hub.url}/user/{prof}/formgrader/manage_submissions/{TP}")
    for user in hub.students:
        teacher.wait_for_selector(f"td:has-text('{user}')", timeout=WAIT_MS)
        teacher.locator("tr", has_text=user).locator(".autograde a").click()
        said = modal_says(teacher)
        assert "kit's judge" in said, said
    teacher.reload()
    teacher.wait_for_selector(f"td:has-text('{carol}')", timeout=WAIT_MS)
    shot(teacher, "5-instructor-autograded")
    table = teacher.inner_text("table")
    assert f"{LAST_NAME}, Alice" in table, table  # the roster's names, in formgrader

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
        notebook_id = gradebook.find_submission_notebook(TP, TP, alice).id
    teacher.goto(f"{hub.url}/user/{prof}/formgrader/submissions/{notebook_id}/")
    score = teacher.locator("input.score[id='analysis']")
    score.wait_for(timeout=WAIT_MS)
    with teacher.expect_response(
        lambda answer: "/formgrader/api/grade/" in answer.url and answer.request.method == "PUT",
        timeout=60_000,
    ) as saved:
        score.fill(f"{HAND_GRADE:g}")
        score.press("Tab")  # formgrader saves a grade as its field loses focus
    assert saved.value.ok, saved.value.status
    shot(teacher, "6-instructor-hand-graded")
    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
        assert gradebook.find_grade("analysis", TP, TP, alice).manual_score == HAND_GRADE

    teacher.goto(f"{hub.url}/user/{prof}/formgrader/manage_assignments")
    formgrader_row(teacher, TP).locator("td.generate-feedback a").click(timeout=WAIT_MS)
    modal_says(teacher)
    formgrader_row(teacher, TP).locator("td.release-feedback a").click(timeout=WAIT_MS)
    modal_says(teacher)
    shot(teacher, "7-instructor-released-feedback")
    tried = attempts_as(hub, bob, {"list the released feedback": str(hub.exchange / "feedback")})
    assert tried == {"list the released feedback": "PermissionError"}, tried

    # What was graded: alice's own work (not bob's forgeries), bob's second hand-in, carol late.
    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
        graded = {user: gradebook.find_submission(TP, user) for user in hub.students}
        scores = {user: (s.score, s.late_submission_penalty) for user, s in graded.items()}
    results = {
        user: json.loads((hub.course / "autograded" / user / TP / "results.json").read_text())
        for user in hub.students
    }
    assert results[alice]["score"] == results[alice]["max_score"] > 0, results[alice]
    assert 0 < results[bob]["score"] < results[bob]["max_score"], results[bob]
    assert scores[alice][1] == scores[bob][1] == 0 and scores[carol][1] > 0, scores

    # Each student fetches feedback: their own.
    for user, page in pages.items():
        page.reload()
        assignment_list(page)
        button = page.locator("#submitted_assignments_list button:has-text('Fetch Feedback')").first
        button.click(timeout=WAIT_MS)
        feedback = wait_for(lambda user=user: list((hub.home(user) / TP / "feedback").glob(f"*/{TP}.html")))
        assert feedback, f"{user} fetched no feedback"
        text = "\n".join(p.read_text() for p in feedback)
        others = [other for other in (prof, *hub.students) if other != user and other in text]
        assert not others, (user, others)
    shot(pages[alice], "8-student-fetched-feedback")
    for user in hub.students:
        where = max((hub.home(user) / TP / "feedback").glob(f"*/{TP}.html"))
        page = pages[user]
        page.goto(f"{hub.url}/user/{user}/files/{TP}/feedback/{where.parent.name}/{TP}.html")
        page.wait_for_load_state()
        if user == alice:
            shot(page, "9-student-feedback-page")
    for page in (teacher, *pages.values()):
        page.context.close()
    print(
        "scores (score, late penalty): "
        + ", ".join(f"{user} {score:g} - {late:g}" for user, (score, late) in scores.items())
    )
