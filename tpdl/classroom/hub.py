"""The course on a JupyterHub: one Unix account per person, an exchange no student can read (``tpdl hub``).

``tpdl hub up`` (``make hub``), as root on a Debian-like machine, builds and starts everything a
class needs, under one folder (``--root``, default ``/srv/tpdl-hub``) and in the accounts it creates:

* **Accounts**, from the roster (``hub/roster.csv``: ``id,role`` and, for the gradebook, names):
  one Unix account per person (``useradd``), its home closed to others (mode 0700), a random
  password listed in ``<root>/passwords.csv`` (root's only). Login goes through PAM, JupyterHub's
  default authenticator: the machine's own accounts, nothing else lets anyone in.
* **One Python environment** (``<root>/env``) from a system Python every account can run: the
  student runtime from the kit's published package (``tpdl-course``, :mod:`tpdl.authoring.wheel`)
  with its pinned dependencies, JupyterLab, nbgrader and JupyterHub. Nothing of the judge, the
  graders or the solutions is in it.
* **The course**, a copy of the kit's checkout in the instructor's home (mode 0700: ``graders/``,
  ``source/``, the gradebook), its ``nbgrader_config.py`` pointing at the hub's exchange. The
  instructor's server imports the whole kit from there (``PYTHONPATH``), runs formgrader at the
  course's root, and grades with the kit's judge.
* **The exchange** (``<root>/exchange/<course id>``), the instructor's: releases readable by all;
  ``inbound/`` writable by students but not listable (nbgrader's mode), and sticky, so that
  nobody but its owner can rename or remove a submission; each submission readable by its student
  and the instructor's group only (:class:`tpdl.course.exchange.SealedSubmit`, named by the
  students' ``nbgrader_config.py``); the kit's collect leaves any submission whose owner is not the
  student its name gives (:class:`tpdl.classroom.nbgrader_ext.SafeCollect`).
* **JupyterHub** (``hub/jupyterhub_config.py``) with ``configurable-http-proxy`` from npm; each
  server runs as its user (``LocalProcessSpawner``), students' with the Assignment List and
  Validate, the instructor's with formgrader. The hub runs in the background; the command returns
  once it answers, and says what it made.

``tpdl hub down`` (``make hub-stop``) stops the hub and every server, saves the instructor's course
(gradebook, submissions, grades, feedback) in ``<root>-course-<time>.tar.gz`` beside ``<root>``
(root's only), then removes the accounts it made (homes included) and ``<root>``. Nothing else on
the machine is touched.
"""

import contextlib
import csv
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

from tpdl.classroom import lab
from tpdl.classroom.outcomes import InfrastructureError, UsageError
from tpdl.core import files, paths
from tpdl.judge import intake

DEFAULT_ROOT = Path("/srv/tpdl-hub")
DEFAULT_PORT = 8800
PROXY = "configurable-http-proxy@5.3.0"
SYSTEM_PYTHON = "/usr/bin/python3.11"  # every account can run it (a venv keeps a link to its interpreter)
COURSE_FOLDER = "tpdl"  # the course, in the instructor's home
ROLES = ("student", "instructor")
START_S = 90  # for the hub to answer
STOP_S = 30  # for the hub to stop its servers and its proxy
SETTINGS = "hub.json"  # what jupyterhub_config.py reads, and what `down` removes
# What the course needs beyond the checkout's tracked files: built by `make release` (and `tpdl release`).
BUILT = ("release", "gradebook.db")
# nbgrader's lab plugins a student's JupyterLab leaves out (the Assignment List and Validate stay).
INSTRUCTOR_PLUGINS = ("formgrader", "create-assignment", "course-list")
# JupyterLab's news, which it would fetch from outside and ask every user about.
QUIET = {"@jupyterlab/apputils-extension:announcements": True}
FORMGRADER = "tpdl.classroom.formgrader.json"  # the kit's formgrader in place of nbgrader's (the Makefile)


@dataclass(frozen=True)
class Person:
    id: str
    role: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""


def read_roster(path: Path) -> tuple[Person, list[Person]]:
    """The instructor and the students of a roster CSV (``id,role[,first_name,last_name,email]``)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise UsageError(f"cannot read the roster {path}: {error.strerror or error}") from error
    except (UnicodeDecodeError, csv.Error) as error:
        raise UsageError(f"the roster {path} is not a UTF-8 CSV file: {error}") from error
    people, seen = [], set()
    for line, row in enumerate(rows, start=2):
        who = (row.get("id") or "").strip()
        role = (row.get("role") or "").strip()
        if role not in ROLES:
            raise UsageError(f"{path}, line {line}: role {role!r} is not one of {', '.join(ROLES)}")
        why = account_name_problem(who)
        if why:
            raise UsageError(f"{path}, line {line}: {why}")
        if who in seen:
            raise UsageError(f"{path}, line {line}: {who} is listed twice")
        seen.add(who)
        names = {key: (row.get(key) or "").strip() for key in ("first_name", "last_name", "email")}
        people.append(Person(who, role, **names))
    instructors = [p for p in people if p.role == "instructor"]
    if len(instructors) != 1:
        raise UsageError(
            f"{path} names {len(instructors)} instructors: a hub's course has one (it lives in their home)"
        )
    students = [p for p in people if p.role == "student"]
    if not students:
        raise UsageError(f"{path} names no student")
    return instructors[0], students


def account_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be both a Unix account and an nbgrader student id, or None."""
    if not name:
        return "an id is empty"
    if len(name) > 32 or not name[0].isascii() or not (name[0].islower() or name[0] == "_"):
        return f"{name!r} is not an account name (a lower-case letter first, 32 characters at most)"
    if not all(ch.isascii() and (ch.islower() or ch.isdigit() or ch in "_-") for ch in name):
        return f"{name!r} is not an account name (lower-case letters, digits, _ and - only)"
    return intake.check_student_id(name)


# --------------------------------------------------------------------------- helpers


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``command``; its output is the error's message when it fails."""
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise InfrastructureError(f"`{' '.join(command)}` failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def world_can_run(path: Path) -> bool:
    """Whether every account can reach and run ``path`` (each folder on its way searchable by all)."""
    real = path.resolve()
    if not real.is_file() or not os.stat(real).st_mode & 0o001:
        return False
    return all(os.stat(folder).st_mode & 0o001 for folder in real.parents)


def open_to_others(folder: Path) -> bool:
    """Whether accounts other than root can read ``folder``'s files (it and its parents searchable)."""
    real = folder.resolve()
    searchable = all(os.stat(p).st_mode & 0o001 for p in (real, *real.parents))
    return searchable and bool(os.stat(real).st_mode & 0o004)


def say(text: str) -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- up


def up(
    roster: Path,
    root: Path = DEFAULT_ROOT,
    port: int = DEFAULT_PORT,
    ip: str = "127.0.0.1",
    data_dir: Path | None = None,
    host: str = "localhost",
) -> dict:
    """Build and start the hub (see the module's docstring); the settings it runs with."""
    started = time.monotonic()
    if os.geteuid() != 0:
        raise UsageError("tpdl hub up makes accounts and runs servers as their users: run it as root")
    for tool in ("useradd", "userdel", "chpasswd", "npm"):
        if shutil.which(tool) is None:
            raise UsageError(f"{tool} is not installed (Debian: apt-get install passwd nodejs npm)")
    if not world_can_run(Path(SYSTEM_PYTHON)):
        raise UsageError(f"{SYSTEM_PYTHON} is missing or not runnable by every account (Debian: python3.11)")
    instructor, students = read_roster(roster)
    root = root.absolute()
    if (root / SETTINGS).exists():
        raise UsageError(f"{root} holds a hub already: stop it first (make hub-stop)")
    for person in (instructor, *students):
        try:
            pwd.getpwnam(person.id)
        except KeyError:
            continue
        raise UsageError(
            f"an account {person.id} exists already on this machine: the hub makes its own accounts "
            "(choose another id in the roster, or remove that account)"
        )
    if data_dir is not None and not open_to_others(data_dir):
        raise UsageError(f"the data folder {data_dir} is not readable by every account (chmod o+rx)")
    checkout = paths.PACKAGE.parent
    missing = [name for name in BUILT if not (checkout / name).exists()]
    if missing:
        raise UsageError(f"{checkout} has no {', '.join(missing)}: build the releases first (make release)")

    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    state = root / "state"
    state.mkdir(mode=0o700, exist_ok=True)
    settings = {
        "root": str(root),
        "ip": ip,
        "port": port,
        "host": host,
        "hub_port": free_port(),
        "proxy_api_port": free_port(),
        "course_id": "tpdl",
        "instructor": instructor.id,
        "students": [s.id for s in students],
        "accounts": [],
        "env": str(root / "env"),
        "proxy": str(root / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"),
        "config": {role: str(root / "config" / role) for role in ROLES},
        "data_dir": str(data_dir.resolve()) if data_dir else None,
        "state": str(state),
    }
    save(root, settings)  # from here on, `tpdl hub down` removes what was made
    try:
        build(settings, root, checkout, instructor, students)
    except BaseException:
        say(f"the hub could not be made: removing what was made ({root}, the accounts)")
        down(root, keep=False)
        raise
    url = f"http://{host}:{port}/hub/login"
    say(f"JupyterHub answers at {url} ({time.monotonic() - started:.0f} s)")
    say(f"passwords (root's only): {root / 'passwords.csv'}; stop and remove it all with: make hub-stop")
    if open_to_others(checkout):
        say(
            f"note: {checkout} is readable by every account on this machine, and its graders/ and source/ "
            f"hold the answers: chmod o-rwx {checkout} (the hub's course is the copy in {settings['course']})"
        )
    return settings


def build(settings: dict, root: Path, checkout: Path, instructor: Person, students: list[Person]) -> None:
    """Make the accounts, the environment, the course and the exchange, and start the hub."""
    make_accounts(settings, [instructor, *students])
    home = Path(pwd.getpwnam(instructor.id).pw_dir)
    settings["course"] = str(home / COURSE_FOLDER)
    save(root, settings)
    say(f"accounts: {instructor.id} (instructor), {', '.join(s.id for s in students)}")

    say("configurable-http-proxy (npm) ...")
    run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(root / "proxy"), PROXY])
    say("the students' Python environment (the student runtime, JupyterLab, nbgrader, JupyterHub) ...")
    make_environment(root / "env", root / "wheel")
    say(f"the course, in {settings['course']} ...")
    make_course(settings, checkout, instructor, students)
    make_exchange(settings)
    write_server_configs(settings)
    shutil.copyfile(checkout / "hub" / "jupyterhub_config.py", root / "jupyterhub_config.py")
    save(root, settings)
    start(settings)
    save(root, settings)


def save(root: Path, settings: dict) -> None:
    files.write_atomically(root / SETTINGS, json.dumps(settings, indent=2) + "\n", mode=0o644)


def make_accounts(settings: dict, people: list[Person]) -> Path:
    """An account per person, its home 0700 and a random password; the passwords' file."""
    root = Path(settings["root"])
    lines = ["id,role,password"]
    for person in people:
        run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", person.id])
        settings["accounts"].append(person.id)
        save(root, settings)
        os.chmod(pwd.getpwnam(person.id).pw_dir, 0o700)
        password = secrets.token_urlsafe(12)
        run(["chpasswd"], input=f"{person.id}:{password}\n")
        lines.append(f"{person.id},{person.role},{password}")
    passwords = root / "passwords.csv"
    files.write_atomically(passwords, "\n".join(lines) + "\n", mode=0o600)
    return passwords


def make_environment(env: Path, wheels: Path) -> None:
    """The one environment every server runs from: the student wheel and the locked dependencies."""
    from tpdl.authoring import wheel

    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        raise InfrastructureError(f"uv is not installed beside {sys.executable} (make setup installs it)")
    built = wheel.build(wheels)
    lock = paths.PACKAGE.parent / "requirements.lock"
    run([str(uv), "venv", "--quiet", "--python", SYSTEM_PYTHON, str(env)])
    run(
        [
            str(uv), "pip", "install", "--quiet", "--compile-bytecode",
            "--python", str(env / "bin" / "python"), "-r", str(lock), str(built),
        ]
    )  # fmt: skip
    os.chmod(env, 0o755)


def make_course(settings: dict, checkout: Path, instructor: Person, students: list[Person]) -> None:
    """The instructor's copy of the course: the checkout's files, its releases and the roster's gradebook."""
    from nbgrader.api import Gradebook

    course = Path(settings["course"])
    tracked = run(["git", "-C", str(checkout), "ls-files", "-z"]).stdout.split("\0")
    extra = [str(p.relative_to(checkout)) for p in checkout.glob("source/*/*.ipynb")]
    for name in [n for n in tracked if n] + extra:
        source = checkout / name
        if source.is_file() and not source.is_symlink():
            (course / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, course / name)
    shutil.copytree(checkout / "release", course / "release", symlinks=True)
    shutil.copy2(checkout / "gradebook.db", course / "gradebook.db")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in list(gradebook.students):
            gradebook.remove_student(student.id)
        for person in students:
            gradebook.add_student(
                person.id, first_name=person.first_name, last_name=person.last_name, email=person.email
            )
    config = course / "nbgrader_config.py"
    config.write_text(
        config.read_text()
        + "\n# The hub's exchange (tpdl hub up): the students' servers hand in and fetch through it.\n"
        + f"c.Exchange.root = {str(Path(settings['root']) / 'exchange')!r}\n"
    )
    # The instructor's `tpdl`: the whole kit, from the course.
    launcher = Path(settings["root"]) / "instructor-bin" / "tpdl"
    launcher.parent.mkdir(mode=0o755, exist_ok=True)
    launcher.write_text(
        f"#!{settings['env']}/bin/python\nimport sys\n\nfrom tpdl.cli import main\n\nsys.exit(main())\n"
    )
    launcher.chmod(0o755)
    chown_tree(course, instructor.id)


def chown_tree(folder: Path, user: str) -> None:
    run(["chown", "-R", "--no-dereference", f"{user}:{user}", str(folder)])


def make_exchange(settings: dict) -> None:
    """The exchange's course folder, the instructor's, with an inbound folder that is sticky."""
    exchange = Path(settings["root"]) / "exchange"
    exchange.mkdir(exist_ok=True)
    # nbgrader asks every user to be able to write in the exchange's root; sticky, as /tmp is: nobody
    # removes or renames what another made (the course's folder, the instructor's).
    os.chmod(exchange, 0o1777)
    course = exchange / settings["course_id"]
    inbound = course / "inbound"
    inbound.mkdir(parents=True, exist_ok=True)
    chown_tree(course, settings["instructor"])
    os.chmod(course, 0o755)
    # nbgrader's inbound mode (setgid, everyone may add, nobody but the instructor may list) plus the
    # sticky bit; nbgrader's release keeps the mode of an inbound folder that exists.
    os.chmod(inbound, 0o3733)


def write_server_configs(settings: dict) -> None:
    """The settings each role's server reads (``JUPYTER_CONFIG_PATH``)."""
    student, instructor = (Path(settings["config"][role]) for role in ROLES)
    files.write_atomically(
        student / "nbgrader_config.py",
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {settings['course_id']!r}\n"
        f"c.Exchange.root = {str(Path(settings['root']) / 'exchange')!r}\n"
        "# Validate's time per cell, as the release's own nbgrader_config.py sets it.\n"
        "c.Execute.timeout = 300\n"
        "c.Execute.interrupt_on_timeout = True\n"
        "# A submission readable by its student and the instructor only (tpdl.course.exchange).\n"
        'c.ExchangeFactory.submit = "tpdl.course.exchange.SealedSubmit"\n',
        mode=0o644,
    )
    extensions = {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False,
    }
    files.write_atomically(
        student / "jupyter_server_config.d" / "tpdl-hub.json",
        json.dumps({"ServerApp": {"jpserver_extensions": extensions}}, indent=2) + "\n",
        mode=0o644,
    )
    disabled = {f"@jupyter/nbgrader:{plugin}": True for plugin in INSTRUCTOR_PLUGINS}
    for role, plugins in ((student, {**disabled, **QUIET}), (instructor, QUIET)):
        files.write_atomically(
            role / "labconfig" / "page_config.json",
            json.dumps({"disabledExtensions": plugins}, indent=2) + "\n",
            mode=0o644,
        )
        lab.write(role, opening=False)  # JupyterLab's own words in the course's language
    # nbgrader reads the nbgrader_config.py of its working folder, and a server's is the user's home.
    files.write_atomically(
        instructor / "nbgrader_config.py",
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(Path(settings['course']) / 'nbgrader_config.py')!r})  # noqa: F821\n",
        mode=0o644,
    )
    kit = paths.PACKAGE.parent / "jupyter-config" / "jupyter_server_config.d" / FORMGRADER
    files.write_atomically(instructor / "jupyter_server_config.d" / kit.name, kit.read_text(), mode=0o644)
    for folder in (Path(settings["root"]) / "config", student, instructor):
        for path in (folder, *folder.rglob("*")):
            if path.is_dir():
                os.chmod(path, 0o755)


def start(settings: dict) -> None:
    """Start JupyterHub in the background, and wait until it answers."""
    state = Path(settings["state"])
    env = {
        "PATH": f"{Path(settings['proxy']).parent}:{settings['env']}/bin:/usr/local/bin:/usr/bin:/bin",
        "TPDL_HUB_SETTINGS": str(Path(settings["root"]) / SETTINGS),
        "LANG": "C.UTF-8",
    }
    with open(state / "hub.log", "ab") as log:
        hub = subprocess.Popen(
            [f"{settings['env']}/bin/jupyterhub", "-f", str(Path(settings["root"]) / "jupyterhub_config.py")],
            cwd=state,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    settings["pid"] = hub.pid
    save(Path(settings["root"]), settings)  # `tpdl hub down` stops it, whatever happens next
    url = f"http://127.0.0.1:{settings['port']}/hub/health"
    asked = urllib.request.Request(url, headers={"Host": f"{settings['host']}:{settings['port']}"})
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            break
        try:
            with urllib.request.urlopen(asked, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    tail = (state / "hub.log").read_text(errors="replace")[-3000:]
    raise InfrastructureError(f"JupyterHub did not answer at {url} within {START_S} s; its log ends:\n{tail}")


# --------------------------------------------------------------------------- down


def down(root: Path = DEFAULT_ROOT, keep: bool = True) -> list[str]:
    """Stop the hub and every server, save the course (unless ``keep`` is false: a hub that never
    started), remove the accounts it made and ``root``; what was removed."""
    if os.geteuid() != 0:
        raise UsageError("tpdl hub down removes accounts: run it as root")
    root = root.absolute()
    try:
        settings = json.loads((root / SETTINGS).read_text())
    except FileNotFoundError:
        raise UsageError(f"{root} holds no hub (nothing to stop)") from None
    removed = []
    if settings.get("pid"):
        stop_hub(settings["pid"])
        removed.append(f"JupyterHub (pid {settings['pid']})")
    course = Path(settings["course"]) if settings.get("course") else None
    if keep and course is not None and course.is_dir():
        kept = keep_course(course, root)
        removed.append(f"the course {course}, saved first in {kept} (gradebook, submissions, grades)")
    for account in settings.get("accounts", []):
        kill_user(account)
        subprocess.run(["userdel", "--remove", account], capture_output=True)
        subprocess.run(["groupdel", account], capture_output=True)  # where userdel left it
        removed.append(f"account {account} and its home")
    shutil.rmtree(root, ignore_errors=True)
    removed.append(str(root))
    return removed


def keep_course(course: Path, root: Path) -> Path:
    """A copy of the instructor's course, beside ``root`` and root's only, before its account goes."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    archive = root.parent / f"{root.name}-course-{stamp}.tar.gz"
    with open(os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        with tarfile.open(fileobj=handle, mode="w:gz") as tar:
            tar.add(course, arcname=course.name)
    return archive


def stop_hub(pid: int) -> None:
    """SIGTERM to JupyterHub (it stops the servers and the proxy), then SIGKILL to what is left."""
    try:
        group = os.getpgid(pid)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
        os.killpg(group, signal.SIGKILL)


def kill_user(account: str) -> None:
    """SIGKILL every process of ``account``, until none is left."""
    uid = pwd.getpwnam(account).pw_uid if _exists(account) else None
    if uid is None:
        return
    for _ in range(50):
        left = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]
        if not left:
            return
        for process in left:
            with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
                process.kill()
        time.sleep(0.1)


def _exists(account: str) -> bool:
    try:
        pwd.getpwnam(account)
        return True
    except KeyError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True
