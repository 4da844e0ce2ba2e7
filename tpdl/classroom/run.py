"""Grading a whole class: submissions taken in by one scan each, graded, results written as they come.

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
import json
import re
import tempfile
import traceback
from pathlib import Path

from traitlets import TraitError

from tpdl.classroom import gradebook, report
from tpdl.classroom.cache import cache_key, fingerprint
from tpdl.classroom.outcomes import (
    PROFILE,
    RESULTS,
    ClassResult,
    InfrastructureError,
    UsageError,
    empty_result,
    problem_result,
)
from tpdl.classroom.runners import LocalRunner, PooledRunner, Record, Runner, Task
from tpdl.core import i18n, manifest, paths
from tpdl.core.files import write_atomically
from tpdl.judge import intake, sandbox

_ = i18n.KIT  # what the students are told


def write_json(path: Path, content: dict) -> None:
    """Keep ``content`` at ``path``, whole or not at all (a run killed then is finished by the next)."""
    write_atomically(path, json.dumps(content, indent=2))


def notebook_name(assignment: str, folder: Path) -> str:
    """The notebook graded in ``folder``: ``<assignment>.ipynb``, or the only notebook there."""
    expected = f"{assignment}.ipynb"
    if (folder / expected).is_file():
        return expected
    others = sorted(p.name for p in folder.glob("*.ipynb"))
    return others[0] if len(others) == 1 else expected


def missing_deliverables(assignment: str, folder: Path, notebook: str) -> list[str]:
    """The deliverables of the TP's manifest that the staged submission ``folder`` lacks (the
    notebook graded in place of ``<tp>.ipynb`` stands for it); none for a TP without a manifest."""
    try:
        expected = manifest.load(assignment).deliverables
    except FileNotFoundError:
        return []
    present = {f"{assignment}.ipynb"} if (folder / notebook).is_file() else set()
    return [name for name in expected if name not in present and not (folder / name).exists()]


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
    runner: LocalRunner | None = None,
) -> ClassResult:
    """Grade every submission of ``assignment``; see ``tpdl grade --help``. A ``submissions`` folder
    other than the course's ``submitted/`` is graded apart from the class, into ``out``. ``runner``,
    one the caller keeps across class runs (a :class:`tpdl.classroom.runners.KeptRunner`), grades in
    place of the one ``jobs`` and ``cluster`` would choose, with its own limits (``limits``, ``jobs``
    or ``cluster`` beside it are refused)."""
    if not paths.graders(assignment).is_dir():
        from tpdl.classroom import plain  # nbgrader's executor is imported for a plain assignment only

        if plain.is_plain(assignment):  # nbgrader's autograde grades it, its notebooks run in the sandbox
            return plain.grade_class(
                assignment, students, force, json_path, html_path, submissions, jobs, cluster, profile
            )
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
    if runner is not None:
        if limits is not None or jobs != 1 or cluster is not None:
            raise ValueError(
                "a runner grades with its own limits, on its own: give no limits, jobs or cluster"
            )
        limits = runner.limits
    limits = limits or sandbox.Limits()
    runner = runner or runner_for(jobs, limits, cluster, cluster_certs, insecure_cluster)
    submissions = Path(submissions or paths.submitted())
    if not submissions.is_dir():
        raise UsageError(f"no submissions folder at {submissions}")
    outputs = outputs_for(assignment, submissions, out)
    found = intake.discover(assignment, submissions, students)
    autograded = outputs.autograded
    autograded.mkdir(parents=True, exist_ok=True)
    outcome = ClassResult(assignment, refused=dict(found.refused), outputs=outputs)
    with open(autograded / ".grading.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another grading run is writing to {autograded}; wait for it to end") from None
        with tempfile.TemporaryDirectory(prefix="tpdl-class-") as scratch:
            try:
                if any(folder is not None for folder in found.folders.values()):
                    runner.start()  # a sandbox importing TensorFlow while this process stages the submissions
                key = cache_key(assignment, limits)
                todo = _to_grade(
                    assignment, submissions, found.folders, key, force, limits, Path(scratch), outcome
                )
                report.prepare()
                try:  # before anything is graded: a late-penalty setting the course's plugin does not honour
                    gradebook.late_penalties()
                except TraitError as error:
                    raise UsageError(f"nbgrader_config.py: {error}") from None
                if todo:
                    runner.grade(
                        assignment, key, todo, _recorder(assignment, outcome, on_result, profile), progress
                    )
            except sandbox.SandboxUnavailable as error:
                raise InfrastructureError(str(error)) from None
            finally:
                runner.close()
        if students:
            _keep_the_others(assignment, submissions, outcome)
        report.write_all(outcome, submissions, json_path, html_path)
    return outcome


def runner_for(
    jobs: int,
    limits: sandbox.Limits,
    cluster: str | None = None,
    certs: Path | None = None,
    insecure: bool = False,
) -> Runner:
    """The runner ``--jobs`` and ``--cluster`` ask for; a ``UsageError`` for a cluster unsafe to use."""
    if cluster is None:
        return LocalRunner(limits) if jobs == 1 else PooledRunner(jobs, limits)
    from tpdl.classroom import cluster as dask  # Dask's import is paid for by --cluster runs only

    return dask.ClusterRunner(dask.Connection.to(cluster, certs, insecure), limits)


# Where a folder graded apart from the class never writes: the class's own folders.
CLASS_FOLDERS = "autograded feedback submitted source release solutions graders exchange".split()


def outputs_for(assignment: str, submissions: Path, out: Path | None) -> report.Outputs:
    """The class's outputs for the course's ``submitted/``; for any other folder, ``out`` or
    ``reports/<tp>/<the folder's name>/``, never one of the class's folders."""
    if submissions.resolve() == paths.submitted().resolve():
        if out is not None:
            raise UsageError(
                "--out is for a folder graded apart from the class (--submissions DIR): the class's "
                "results go to autograded/, feedback/, reports/ and the gradebook"
            )
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
            outcome.students[student] = empty_result(student, assignment, missing=_("no submission found"))
            write_json(target, outcome.students[student])
            continue
        try:
            staged = intake.stage_submission(submissions, student, assignment, limits.intake, into=scratch)
        except Exception:  # noqa: BLE001 - the intake itself failed: this student only
            outcome.students[student], _log = problem_result(student, assignment, traceback.format_exc())
            outcome.infrastructure.append(student)
            continue
        if staged.refused:
            outcome.students[student] = empty_result(
                student, assignment, refused=staged.refused, notes=[staged.note()]
            )
            with contextlib.suppress(OSError):
                write_json(target, outcome.students[student])
                report.write_student(outcome.students[student], None, target.parent, "")
            staged.remove()
            continue
        notebook = notebook_name(assignment, staged.folder)
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
        todo.append(
            Task(
                student,
                staged,
                stamp,
                notebook,
                submitted_at,
                [dating] if dating else [],
                missing_deliverables(assignment, staged.folder, notebook),
            )
        )
    return todo


def _recorder(assignment: str, outcome: ClassResult, on_result, profile: bool = False) -> Record:
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
            write_json(target / RESULTS, result)
            if profile and timings:
                write_json(target / PROFILE, timings)
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
