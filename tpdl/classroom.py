"""Grading a whole class: one judge process per job, each with its sandbox, results written as they come.

Every student's result is written to ``autograded/<student>/<assignment>/results.json`` the moment
it is known (atomically), with a fingerprint of the submission; a run that is interrupted, even
by ``kill -9``, is finished by running it again: students whose results match their submission are
not graded twice. The judge alone writes results, the gradebook, the CSV, the HTML report and the
feedback.
"""

import contextlib
import fcntl
import hashlib
import json
import multiprocessing
import os
import queue
import shutil
import signal
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from tpdl import paths, pool, report, sandbox

RESULTS = "results.json"
JUDGE_START_S = 300


class UsageError(Exception):
    """A problem with how the command was called; the message says what to change."""


class InfrastructureError(Exception):
    """The machine cannot grade (no sandbox, a grader that does not load)."""


@dataclass
class ClassResult:
    assignment: str
    students: dict[str, dict] = field(default_factory=dict)  # id -> results.json content
    graded_now: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "assignment": self.assignment,
            "students": {
                sid: {
                    "score": r["score"],
                    "max_score": r["max_score"],
                    "checks": [_contract(c) for c in r["checks"]],
                }
                for sid, r in sorted(self.students.items())
            },
        }


CHECK_KEYS = ("name", "points", "max_points", "passed", "message")


def _contract(check: dict) -> dict:
    """A check as the ``--json`` contract states it."""
    return {key: check[key] for key in CHECK_KEYS}


def fingerprint(*folders: Path) -> str:
    """A hash of every file of ``folders`` (names, sizes and contents)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
            if ".ipynb_checkpoints" in path.parts or "__pycache__" in path.parts:
                continue
            name = os.fsencode(path.relative_to(folder))
            digest.update(len(name).to_bytes(8, "big") + name + path.stat().st_size.to_bytes(8, "big"))
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _write_json_atomically(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        json.dump(content, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)


def discover(assignment: str, submissions: Path, students: list[str] | None) -> dict[str, Path | None]:
    """Student id -> their submission folder (None when a named student submitted nothing)."""
    if not submissions.is_dir():
        raise UsageError(f"no submissions folder at {submissions}")
    found = {
        d.name: d / assignment
        for d in sorted(submissions.iterdir())
        if d.is_dir() and not d.name.startswith(".") and (d / assignment).is_dir()
    }
    if students:
        return {sid: found.get(sid) for sid in students}
    return found


# --------------------------------------------------------------------------- judge processes


def _without_links(folder: str, names: list[str]) -> list[str]:
    """Leave symbolic links out of a copy: they could point at anything on the judge's machine."""
    return [n for n in names if os.path.islink(os.path.join(folder, n)) or n == ".ipynb_checkpoints"]


def _grade_one(zygote, assignment: str, student: str, folder: str, notebook: str):
    """Stage a copy of one submission (without links) and grade it; ``(result, log)``."""
    from tpdl import grading

    with tempfile.TemporaryDirectory(prefix="tpdl-stage-") as stage:
        copy = Path(stage) / assignment
        shutil.copytree(folder, copy, ignore=_without_links)
        result, log = grading.grade_submission(zygote, assignment, copy, student, notebook)
    return result.to_json(), log


def _judge_loop(assignment: str, tasks, results, limits) -> None:
    """Body of a judge process (``--jobs`` > 1): one sandbox, then one student after another."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the parent
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        zygote = sandbox.Zygote(limits).start()
    except Exception as error:  # noqa: BLE001 - reported to the parent, which stops
        results.put(("fatal", None, f"{type(error).__name__}: {error}"))
        return
    try:
        while True:
            task = tasks.get()
            if task is None:
                return
            try:
                results.put(("done", task[0], _grade_one(zygote, assignment, *task)))
            except Exception:  # noqa: BLE001 - the graders themselves failed
                results.put(("fatal", task[0], traceback.format_exc()))
                return
    finally:
        zygote.close()


def _notebook_name(assignment: str, folder: Path) -> str:
    expected = f"{assignment}.ipynb"
    if (folder / expected).is_file():
        return expected
    others = sorted(p.name for p in folder.glob("*.ipynb"))
    return others[0] if len(others) == 1 else expected


def _missing_result(student: str, assignment: str, message: str) -> dict:
    from tpdl.grading import Result

    result = Result(student, assignment).to_json()
    result["missing"] = message
    return result


def grade_class(
    assignment: str,
    submissions: Path | None = None,
    students: list[str] | None = None,
    jobs: int = 1,
    json_path: Path | None = None,
    html_path: Path | None = None,
    force: bool = False,
    progress: bool = True,
    on_result=None,
    limits=None,
) -> ClassResult:
    """Grade every submission of ``assignment``; see ``tpdl grade --help``."""
    if not paths.graders(assignment).is_dir():
        known = sorted(
            p.name for p in paths.graders().iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
        )
        raise UsageError(f"unknown assignment {assignment!r}: graders exist for {', '.join(known) or 'none'}")
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    submissions = Path(submissions or paths.submitted())
    folders = discover(assignment, submissions, students)
    autograded = paths.autograded()
    autograded.mkdir(parents=True, exist_ok=True)
    outcome = ClassResult(assignment)
    with open(autograded / ".grading.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError("another grading run is writing to autograded/; wait for it to finish") from None
        # With one job: the warm pool if one answers, else a sandbox started now, importing
        # TensorFlow while this process gets ready.
        early = None
        if jobs == 1 and folders:
            early = (
                pool.connect(limits or sandbox.Limits())
                or sandbox.Zygote(limits or sandbox.Limits()).launch()
            )
        try:
            todo = _to_grade(assignment, folders, force, outcome)
            report.prepare()
            record = _recorder(
                assignment, {s: stamp for s, _, stamp in todo}, {s: f for s, f, _ in todo}, outcome, on_result
            )
            if early is not None and todo:
                _grade_here(assignment, todo, early.wait_ready(), record, progress)
            elif todo:
                _run_judges(assignment, todo, jobs, record, progress, limits or sandbox.Limits())
        except sandbox.SandboxUnavailable as error:
            raise InfrastructureError(str(error)) from None
        finally:
            if early is not None:
                early.close()
        report.write_all(outcome, submissions, json_path, html_path)
    return outcome


def _to_grade(assignment: str, folders: dict, force: bool, outcome: ClassResult) -> list[tuple]:
    """``(student, folder, fingerprint)`` of each student to grade now; the others go into ``outcome``."""
    todo = []
    for student, folder in folders.items():
        target = paths.autograded() / student / assignment / RESULTS
        if folder is None:
            outcome.students[student] = _missing_result(student, assignment, "no submission found")
            _write_json_atomically(target, outcome.students[student])
            continue
        stamp = fingerprint(folder, paths.graders(assignment))  # a grader fixed since: graded again
        if not force and target.is_file():
            with contextlib.suppress(ValueError, OSError):
                previous = json.loads(target.read_text())
                if previous.get("fingerprint") == stamp:
                    outcome.students[student] = previous
                    outcome.reused.append(student)
                    continue
        todo.append((student, folder, stamp))
    return todo


def _recorder(assignment: str, stamps: dict, folders: dict, outcome: ClassResult, on_result):
    """The function that saves one student's result the moment it is known."""

    def record(student: str, result: dict, log: str) -> None:
        # A result spoilt by an internal error of the graders is graded again by the next run.
        result["fingerprint"] = "" if result.get("internal_errors") else stamps[student]
        target = paths.autograded() / student / assignment
        report.write_student(result, folders[student], target, log)
        _write_json_atomically(target / RESULTS, result)
        outcome.students[student] = result
        outcome.graded_now.append(student)
        if on_result:
            on_result(student, result)

    return record


def _grade_here(assignment, todo, zygote, record, progress) -> None:
    bar = report.progress_bar(len(todo), enabled=progress)
    try:
        for student, folder, _ in todo:
            try:
                result, log = _grade_one(
                    zygote, assignment, student, str(folder), _notebook_name(assignment, folder)
                )
            except Exception as error:
                raise InfrastructureError(f"grading could not go on (at {student}): {error}") from error
            record(student, result, log)
            bar.advance(student, result)
    finally:
        bar.close()


def _run_judges(assignment, todo, jobs, record, progress, limits) -> None:
    context = multiprocessing.get_context("spawn")
    tasks, results = context.Queue(), context.Queue()
    for student, folder, _ in todo:
        tasks.put((student, str(folder), _notebook_name(assignment, folder)))
    judges = [context.Process(target=_judge_loop, args=(assignment, tasks, results, limits), daemon=True)
              for _ in range(min(jobs, len(todo)))]  # fmt: skip
    for judge in judges:
        judge.start()
        tasks.put(None)
    bar = report.progress_bar(len(todo), enabled=progress)
    pending = {student for student, _, _ in todo}
    try:
        while pending:
            try:
                kind, student, payload = results.get(timeout=JUDGE_START_S)
            except queue.Empty:
                if not any(j.is_alive() for j in judges):
                    raise InfrastructureError(
                        "every judge process stopped before the class was graded"
                    ) from None
                continue
            if kind == "fatal":
                where = f" (at {student})" if student else ""
                raise InfrastructureError(f"grading could not go on{where}: {payload}")
            result, log = payload
            record(student, result, log)
            pending.discard(student)
            bar.advance(student, result)
    finally:
        bar.close()
        for judge in judges:
            if judge.is_alive():
                judge.kill()
            judge.join(timeout=5)
