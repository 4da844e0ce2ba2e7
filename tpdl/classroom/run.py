"""Grading a whole class: submissions taken in by one scan each, graded by judges, results written as they come.

For each student the intake (``tpdl.judge.intake``) stages what will be graded; the student's
fingerprint is the digest of that staged copy under the run's *cache key* (the kit's code, the
TP's graders, the data the graders use, the limits and the software that computes the grades).
A student whose ``autograded/<student>/<assignment>/results.json`` holds the same fingerprint is
not graded again; any other is graded from the staged copy, and its result is written the moment
it is known (atomically), so that a run interrupted even by ``kill -9`` is finished by running it
again. One student's failure anywhere (staging, grading, recording, a judge process dying) is a
note on that student's result; every other student is graded and every output written.

A folder other than the course's ``submitted/`` (the sample class, a folder of clones) is graded
apart from the class (:class:`tpdl.classroom.report.Outputs`): its results, feedback and reports go to a
folder of their own, ``reports/<tp>/<folder's name>/`` unless ``out`` names another, and the
class's gradebook, ``autograded/``, ``feedback/`` and ``reports/<tp>/`` stay as they were.
"""

import contextlib
import fcntl
import hashlib
import json
import multiprocessing
import os
import queue
import re
import signal
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from traitlets import TraitError

from tpdl.classroom import gradebook, report
from tpdl.core import i18n, manifest, paths
from tpdl.grading import ingredients
from tpdl.judge import intake, pool, sandbox

_ = i18n.KIT  # what the students are told
RESULTS = "results.json"
PROFILE = "profile.json"  # with --profile: where the grading time went
JUDGE_START_S = 300  # for a judge process to start its sandbox
STUDENT_S = 1800  # the most one student may keep a judge process busy before it is stopped


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
    refused: dict[str, str] = field(default_factory=dict)  # folder name (shown) -> why it is not graded
    infrastructure: list[str] = field(default_factory=list)  # students whose grading hit a problem of ours
    totals: dict = field(default_factory=dict)  # id -> tpdl.classroom.gradebook.Totals, hand grades included
    profiles: dict[str, dict] = field(default_factory=dict)  # id -> tpdl.judge.profile, students graded now
    outputs: report.Outputs | None = None  # where the run writes (None: the class's folders)

    def __post_init__(self):
        self.outputs = self.outputs or report.Outputs(self.assignment)

    def to_json(self) -> dict:
        return {
            "assignment": self.assignment,
            "students": {sid: self._student_json(sid, r) for sid, r in sorted(self.students.items())},
            "refused": dict(sorted(self.refused.items())),
        }

    def _student_json(self, student: str, result: dict) -> dict:
        """A student's entry: the judge's score, out of the one maximum (``gradebook.maximum``)."""
        most = gradebook.maximum(result, self.totals.get(student))
        return {
            "score": result["score"], "max_score": most.max_score, "not_counted": most.not_counted,
            "checks": [_contract(c) for c in result["checks"]],
            **({"totals": self.totals[student].to_json()} if student in self.totals else {}),
        }  # fmt: skip


CHECK_KEYS = ("name", "points", "max_points", "passed", "message")


def _contract(check: dict) -> dict:
    """A check as the ``--json`` contract states it."""
    return {key: check[key] for key in CHECK_KEYS}


# --------------------------------------------------------------------------- what a result depends on


def cache_key(assignment: str, limits: sandbox.Limits) -> str:
    """Everything besides the submission that can change a grade, hashed: upgrading any of it regrades."""
    parts = {
        "kit": ingredients.tree_digest(paths.PACKAGE),  # its code, templates and fixtures
        "graders": ingredients.tree_digest(paths.graders(assignment)),
        "graders' library": [ingredients.file_digest(p) for p in sorted(paths.graders().glob("*.py"))],
        "its messages": ingredients.tree_digest(paths.graders() / "locale"),
        "language": i18n.language(),  # results hold the messages in the students' language
        "data": ingredients.data_at_hand(),
        "limits": repr(limits),
        "software": ingredients.software(),
        "docker": _docker_state(assignment),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _docker_state(assignment: str) -> str:
    """What the Docker checks depend on here (engine, base images, package index), for the TPs that
    hand in a Dockerfile only: an engine starting or stopping regrades no other TP."""
    from tpdl.grading import docker_engine

    return docker_engine.state(assignment) if docker_engine.builds_images(assignment) else "no Docker checks"


def fingerprint(key: str, staged: intake.Staged, notebook: str) -> str:
    return hashlib.sha256(f"{key}\n{staged.digest}\n{notebook}".encode()).hexdigest()


def _write_json_atomically(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8"
    ) as handle:
        json.dump(content, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)


# --------------------------------------------------------------------------- results without grading


def _empty_result(student: str, assignment: str, **extra) -> dict:
    from tpdl.grading import Result

    return {**Result(student, assignment).to_json(), **extra}


def _problem_result(student: str, assignment: str, what: str) -> tuple[dict, str]:
    """The result of a student whose grading hit a problem of ours: graded again by the next run."""
    return _empty_result(
        student, assignment, infrastructure=what.splitlines()[-1][:300] if what else "error"
    ), what


def _notebook_name(assignment: str, folder: Path) -> str:
    expected = f"{assignment}.ipynb"
    if (folder / expected).is_file():
        return expected
    others = sorted(p.name for p in folder.glob("*.ipynb"))
    return others[0] if len(others) == 1 else expected


# --------------------------------------------------------------------------- judge processes


@dataclass
class Task:
    student: str
    staged: intake.Staged
    stamp: str
    notebook: str
    submitted_at: str = ""  # from the submission's timestamp.txt (ISO), "" when undated
    notes: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)  # deliverables of the manifest not handed in


def missing_deliverables(assignment: str, folder: Path, notebook: str) -> list[str]:
    """The deliverables of the TP's manifest that the staged submission ``folder`` lacks (the
    notebook graded in place of ``<tp>.ipynb`` stands for it); none for a TP without a manifest."""
    try:
        expected = manifest.load(assignment).deliverables
    except FileNotFoundError:
        return []
    present = {f"{assignment}.ipynb"} if (folder / notebook).is_file() else set()
    return [name for name in expected if name not in present and not (folder / name).exists()]


def _grade_one(zygote, assignment: str, student: str, folder: Path, notebook: str) -> tuple[dict, str]:
    """Grade one staged submission; ``(result, log)``, a problem result if grading itself failed."""
    from tpdl import grading

    try:
        result, log = grading.grade_submission(zygote, assignment, folder, student, notebook)
    except sandbox.SandboxUnavailable:
        raise
    except Exception:  # noqa: BLE001 - the graders, or the kit, failed on this submission
        return _problem_result(student, assignment, traceback.format_exc())
    return {**result.to_json(), "profile": result.profile}, log


def _judge_loop(index: int, assignment: str, tasks, results, limits) -> None:
    """Body of a judge process (``--jobs`` > 1): one sandbox, then one student after another."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the parent
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        zygote = sandbox.Zygote(limits).start()
    except Exception as error:  # noqa: BLE001 - reported to the parent, which stops
        results.put(("fatal", index, None, f"{type(error).__name__}: {error}"))
        return
    try:
        while True:
            task = tasks.get()
            if task is None:
                return
            student, folder, notebook = task
            results.put(("started", index, student, None))
            try:
                payload = _grade_one(zygote, assignment, student, Path(folder), notebook)
            except sandbox.SandboxUnavailable as error:
                payload = _problem_result(student, assignment, f"the sandbox stopped: {error}")
            results.put(("done", index, student, payload))
    finally:
        zygote.close()


# --------------------------------------------------------------------------- the class


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
    profile: bool = False,
    cluster: str | None = None,
    cluster_certs: Path | None = None,
    insecure_cluster: bool = False,
    out: Path | None = None,
) -> ClassResult:
    """Grade every submission of ``assignment``; see ``tpdl grade --help``. A ``submissions`` folder
    other than the course's ``submitted/`` is graded apart from the class, into ``out``."""
    if not paths.graders(assignment).is_dir():
        from tpdl.classroom import plain

        if plain.is_plain(assignment):  # nbgrader's autograde grades it, its notebooks run in the sandbox
            return plain.grade_class(assignment, students, force, json_path, html_path, submissions, jobs, cluster,
                                     profile)  # fmt: skip
        known = ", ".join(paths.course_assignments()) or "none"
        raise UsageError(f"unknown assignment {assignment!r}: the course's assignments (source/) are {known}")
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    try:
        i18n.language()
    except ValueError as error:
        raise UsageError(str(error)) from None
    if cluster is not None and jobs > 1:
        raise UsageError("--cluster and --jobs exclude each other: the cluster's workers grade side by side")
    if cluster is not None:
        from tpdl.classroom.cluster import Connection

        connection = Connection.to(cluster, cluster_certs, insecure_cluster)
    submissions = Path(submissions or paths.submitted())
    if not submissions.is_dir():
        raise UsageError(f"no submissions folder at {submissions}")
    outputs = outputs_for(assignment, submissions, out)
    limits = limits or sandbox.Limits()
    found = intake.discover(assignment, submissions, students)
    autograded = outputs.autograded
    autograded.mkdir(parents=True, exist_ok=True)
    outcome = ClassResult(assignment, refused=dict(found.refused), outputs=outputs)
    with open(autograded / ".grading.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another grading run is writing to {autograded}; wait for it to end") from None
        if cluster is None and (notice := sandbox.limits_notice()):
            report.console.print(notice, style="yellow", markup=False, highlight=False)
        # With one job: the warm pool if one answers, else a sandbox started now, importing
        # TensorFlow while this process stages the submissions.
        early = None
        if cluster is None and jobs == 1 and any(folder is not None for folder in found.folders.values()):
            early = pool.connect(limits) or sandbox.Zygote(limits).launch()
        with tempfile.TemporaryDirectory(prefix="tpdl-class-") as scratch:
            try:
                key = cache_key(assignment, limits)
                todo = _to_grade(
                    assignment, submissions, found.folders, key, force, limits, Path(scratch), outcome
                )
                report.prepare()
                try:  # before anything is graded: a late-penalty setting the course's plugin does not honour
                    gradebook.late_penalties()
                except TraitError as error:
                    raise UsageError(f"nbgrader_config.py: {error}") from None
                record = _recorder(assignment, outcome, on_result, profile)
                if cluster is not None and todo:
                    from tpdl.classroom.cluster import grade_on_cluster

                    grade_on_cluster(connection, assignment, todo, key, record, progress, limits)
                elif early is not None and todo:
                    _grade_here(assignment, todo, early.wait_ready(), record, progress)
                elif todo:
                    _run_judges(assignment, todo, jobs, record, progress, limits)
            except sandbox.SandboxUnavailable as error:
                raise InfrastructureError(str(error)) from None
            finally:
                if early is not None:
                    early.close()
        if students:
            _keep_the_others(assignment, submissions, outcome)
        report.write_all(outcome, submissions, json_path, html_path)
    return outcome


# Where a folder graded apart from the class never writes: the class's own folders.
CLASS_FOLDERS = "autograded feedback submitted source release solutions graders exchange".split()


def outputs_for(assignment: str, submissions: Path, out: Path | None) -> report.Outputs:
    """The class's outputs for the course's ``submitted/``; for any other folder, ``out`` or
    ``reports/<tp>/<the folder's name>/``, never one of the class's folders."""
    if submissions.resolve() == paths.submitted().resolve():
        if out is not None:
            raise UsageError("--out is for a folder graded apart from the class (--submissions DIR): the class's "
                             "results go to autograded/, feedback/, reports/ and the gradebook")  # fmt: skip
        return report.Outputs(assignment)
    if out is None:
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", submissions.resolve().name).strip("._") or "submissions"
        out = paths.reports() / assignment / name
    where, course = Path(out).resolve(), paths.course_dir()
    if where in (course, paths.reports().resolve(), (paths.reports() / assignment).resolve()) or any(
        where.is_relative_to((course / name).resolve()) for name in CLASS_FOLDERS
    ):
        raise UsageError(f"--out {out}: the class's own folder; name a folder of this grading's own")
    return report.Outputs(assignment, where)


def _keep_the_others(assignment: str, submissions: Path, outcome: ClassResult) -> None:
    """With ``--student``: the class outputs keep every other student's last result."""
    others = intake.discover(assignment, submissions)
    for student in others.folders:
        if student in outcome.students:
            continue
        saved = outcome.outputs.graded(student) / RESULTS
        with contextlib.suppress(ValueError, OSError):
            outcome.students[student] = json.loads(saved.read_text(encoding="utf-8"))
            outcome.reused.append(student)
    for name, why in others.refused.items():
        outcome.refused.setdefault(name, why)


def _to_grade(assignment, submissions, folders, key, force, limits, scratch, outcome) -> list[Task]:
    """Stage every student's submission; the tasks of those to grade now (the others go into ``outcome``)."""
    todo = []
    for student, folder in folders.items():
        target = outcome.outputs.graded(student) / RESULTS
        if folder is None:
            outcome.students[student] = _empty_result(student, assignment, missing=_("no submission found"))
            _write_json_atomically(target, outcome.students[student])
            continue
        try:
            staged = intake.stage_submission(submissions, student, assignment, limits, into=scratch)
        except Exception:  # noqa: BLE001 - the intake itself failed: this student only
            outcome.students[student], _log = _problem_result(student, assignment, traceback.format_exc())
            outcome.infrastructure.append(student)
            continue
        if staged.refused:
            outcome.students[student] = _empty_result(
                student, assignment, refused=staged.refused, notes=[staged.note()]
            )
            with contextlib.suppress(OSError):
                _write_json_atomically(target, outcome.students[student])
                report.write_student(outcome.students[student], None, target.parent, "")
            staged.remove()
            continue
        notebook = _notebook_name(assignment, staged.folder)
        stamp = fingerprint(key, staged, notebook)
        submitted_at, dating = gradebook.submission_time(staged.folder)
        if not force and target.is_file():
            with contextlib.suppress(ValueError, OSError):
                previous = json.loads(target.read_text(encoding="utf-8"))
                if previous.get("fingerprint") == stamp:
                    outcome.students[student] = previous
                    outcome.reused.append(student)
                    staged.remove()
                    continue
        todo.append(Task(student, staged, stamp, notebook, submitted_at, [dating] if dating else [],
                         missing_deliverables(assignment, staged.folder, notebook)))  # fmt: skip
    return todo


def _recorder(assignment: str, outcome: ClassResult, on_result, profile: bool = False):
    """The function that saves one student's result the moment it is known, whatever goes wrong;
    with ``profile``, also where its grading time went (``profile.json`` beside it)."""

    def record(task: Task, result: dict, log: str) -> None:
        student = task.student
        timings = result.pop("profile", None)
        if timings:
            outcome.profiles[student] = timings
        result.setdefault("notes", [])
        if task.staged.note():
            result["notes"].append(task.staged.note())
        result["notes"] += task.notes
        result["missing_files"] = task.missing_files
        result["timestamp"] = task.submitted_at
        # A result spoilt by a problem of ours (an internal error of the graders) is graded again next run.
        problem = result.get("internal_errors") or result.get("infrastructure")
        result["fingerprint"] = "" if problem else task.stamp
        target = outcome.outputs.graded(student)
        try:
            report.write_student(result, task.staged.folder, target, log)
        except Exception:  # noqa: BLE001 - the feedback could not be written: the result still is
            result["infrastructure"] = "the feedback could not be written"
            result["fingerprint"] = ""
            log = f"{log}\n\n{traceback.format_exc()}"
            with contextlib.suppress(Exception):
                (target / "grading.log").write_text(report.safe.for_log(log), encoding="utf-8")
        try:
            _write_json_atomically(target / RESULTS, result)
            if profile and timings:
                _write_json_atomically(target / PROFILE, timings)
        except Exception:  # noqa: BLE001 - kept in this run's outputs; graded again by the next run
            result["infrastructure"] = "the result could not be saved"
        if result.get("infrastructure"):
            outcome.infrastructure.append(student)
        outcome.students[student] = result
        outcome.graded_now.append(student)
        task.staged.remove()
        if on_result:
            on_result(student, result)

    return record


def _grade_here(assignment, todo: list[Task], zygote, record, progress) -> None:
    bar = report.progress_bar(len(todo), enabled=progress)
    try:
        for task in todo:
            result, log = _grade_one(zygote, assignment, task.student, task.staged.folder, task.notebook)
            record(task, result, log)
            bar.advance(task.student, result)
    finally:
        bar.close()


@dataclass
class _Judge:
    process: multiprocessing.Process
    student: str | None = None  # the student it is grading now
    since: float = 0.0


def _run_judges(assignment, todo: list[Task], jobs, record, progress, limits) -> None:
    """Grade ``todo`` in ``jobs`` judge processes; a judge that dies or hangs costs its student only.

    Each judge says which student it starts; if it dies (or is stopped after ``STUDENT_S`` on one
    student), that student gets a note and another judge takes over the remaining students.
    """
    context = multiprocessing.get_context("spawn")
    tasks, results = context.Queue(), context.Queue()
    by_student = {task.student: task for task in todo}
    for task in todo:
        tasks.put((task.student, str(task.staged.folder), task.notebook))
    judges: list[_Judge] = []
    most_judges = (
        jobs + len(todo) + 2
    )  # every student may kill one judge; beyond that the machine is at fault

    def start_judge() -> None:
        if len(judges) >= most_judges:
            raise InfrastructureError("judge processes keep stopping before they grade anyone")
        process = context.Process(target=_judge_loop, args=(len(judges), assignment, tasks, results, limits),
                                  daemon=True)  # fmt: skip
        process.start()
        tasks.put(None)  # after every task already queued: each judge leaves once the queue is empty
        judges.append(_Judge(process))

    def finish(student: str, result: dict, log: str) -> None:
        if student in pending:
            record(by_student[student], result, log)
            pending.discard(student)
            bar.advance(student, result)

    def look_after_judges() -> None:
        now = time.monotonic()
        for judge in judges:
            if judge.student and judge.process.is_alive() and now - judge.since > STUDENT_S:
                judge.process.kill()
                judge.process.join(timeout=5)
            if judge.process.is_alive() or judge.process.exitcode is None:
                continue
            if judge.student:
                what = (
                    f"the judge process grading this submission stopped (exit code {judge.process.exitcode})"
                )
                finish(judge.student, *_problem_result(judge.student, assignment, what))
                judge.student = None
                if pending:
                    start_judge()
        if pending and not any(j.process.is_alive() for j in judges):
            start_judge()

    for _worker in range(min(jobs, len(todo))):
        start_judge()
    bar = report.progress_bar(len(todo), enabled=progress)
    pending = set(by_student)
    last_news = time.monotonic()
    try:
        while pending:
            try:
                kind, index, student, payload = results.get(timeout=1.0)
            except queue.Empty:
                look_after_judges()
                if time.monotonic() - last_news > JUDGE_START_S and not any(j.student for j in judges):
                    raise InfrastructureError(
                        "no judge process has started grading for a long time"
                    ) from None
                continue
            last_news = time.monotonic()
            if kind == "fatal":
                raise InfrastructureError(f"a judge process could not start its sandbox: {payload}")
            if kind == "started":
                judges[index].student, judges[index].since = student, time.monotonic()
                continue
            judges[index].student = None
            finish(student, *payload)
    finally:
        bar.close()
        for judge in judges:
            if judge.process.is_alive():
                judge.process.kill()
            judge.process.join(timeout=5)
