"""Where a class run's students are graded, behind one signature: :class:`Runner`.

- :class:`LocalRunner` (``--jobs 1``): one sandbox in this process, the warm pool's if one answers,
  else one started while the submissions are staged (:class:`KeptRunner` keeps it for the
  process's next class run);
- :class:`PooledRunner` (``--jobs N``): N judge processes, each with a sandbox of its own; a judge
  that dies or hangs costs its student only;
- ``tpdl.classroom.cluster.ClusterRunner`` (``--cluster``): the workers of a Dask cluster.

Each hands every result to ``record(task, result, log)`` the moment it is known.
"""

import multiprocessing
import os
import queue
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tpdl import grading
from tpdl.classroom import report
from tpdl.classroom.outcomes import InfrastructureError, problem_result
from tpdl.judge import intake, pool, sandbox
from tpdl.judge.worker.common import PR_SET_PDEATHSIG, prctl

JUDGE_START_S = 300  # for a judge process to start its sandbox
STUDENT_S = 1800  # the most one student may keep a judge process busy before it is stopped


@dataclass
class Task:
    """A student to grade now: the staged submission and what its result will carry."""

    student: str
    staged: intake.Staged
    stamp: str  # its fingerprint (tpdl.classroom.cache)
    notebook: str
    submitted_at: str = ""  # from the submission's timestamp.txt (ISO), "" when undated
    notes: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)  # deliverables of the manifest not handed in


Record = Callable[[Task, dict, str], None]  # record(task, result, log): keeps one student's result


class Runner:
    """Grades a class run's tasks somewhere; ``start`` before staging, ``close`` at the end."""

    def start(self) -> None:
        """Begin what takes time (a sandbox importing TensorFlow) while the submissions are staged."""

    def grade(self, assignment: str, key: str, todo: list[Task], record: Record, progress: bool) -> None:
        """Grade ``todo`` under the run's cache ``key``, handing each result to ``record``."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop what ``start`` began."""


def grade_one(zygote, assignment: str, student: str, folder: Path, notebook: str) -> tuple[dict, str]:
    """Grade one staged submission; ``(result, log)``, a problem result if grading itself failed."""
    try:
        result, log = grading.grade_submission(zygote, assignment, folder, student, notebook)
    except sandbox.SandboxUnavailable:
        raise
    except Exception:  # noqa: BLE001 - the graders, or the kit, failed on this submission
        return problem_result(student, assignment, traceback.format_exc())
    return {**result.to_json(), "profile": result.profile}, log


def print_limits_notice() -> None:
    """Say which of the sandbox's limits this machine cannot enforce, if any."""
    if notice := sandbox.limits_notice():
        report.console.print(notice, style="yellow", markup=False, highlight=False)


class LocalRunner(Runner):
    """One sandbox in this process: the warm pool if one answers, else one launched at ``start``."""

    def __init__(self, limits: sandbox.Limits):
        self.limits = limits
        self.early = None  # the sandbox launched (or the warm pool reached) at start
        self.ready = None  # the same, once its zygote said it is ready

    def start(self) -> None:
        print_limits_notice()
        self.early = pool.connect(self.limits) or sandbox.Zygote(self.limits).launch()

    def grade(self, assignment: str, key: str, todo: list[Task], record: Record, progress: bool) -> None:
        if self.early is None:
            self.start()
        if self.ready is None:
            self.ready = self.early.wait_ready()
        zygote = self.ready
        bar = report.progress_bar(len(todo), enabled=progress)
        try:
            for task in todo:
                result, log = grade_one(zygote, assignment, task.student, task.staged.folder, task.notebook)
                record(task, result, log)
                bar.advance(task.student, result)
        finally:
            bar.close()

    def close(self) -> None:
        if self.early is not None:
            self.early.close()
            self.early = self.ready = None


class KeptRunner(LocalRunner):
    """A :class:`LocalRunner` whose sandbox outlives the class run: a process that grades one class
    run per student (``nbgrader autograde``) imports TensorFlow once for all of them. The sandbox is
    started by the first run and stopped by :meth:`release`."""

    def start(self) -> None:
        if self.early is not None and not self.early.alive():  # it could not start: try again
            self.release()
        if self.early is None:
            super().start()

    def close(self) -> None:
        """Keep the sandbox for the next class run."""

    def release(self) -> None:
        super().close()


def judge_loop(index: int, assignment: str, tasks, results, limits: sandbox.Limits) -> None:
    """Body of a judge process (``--jobs`` > 1): one sandbox, then one student after another."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the parent
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
                payload = grade_one(zygote, assignment, student, Path(folder), notebook)
            except sandbox.SandboxUnavailable as error:
                payload = problem_result(student, assignment, f"the sandbox stopped: {error}")
            results.put(("done", index, student, payload))
    finally:
        zygote.close()


@dataclass
class Judge:
    """A judge process, and the student it is grading now (None between students)."""

    process: multiprocessing.Process
    student: str | None = None
    since: float = 0.0


class PooledRunner(Runner):
    """``jobs`` judge processes; a judge that dies (or is stopped after ``STUDENT_S`` on one student)
    gives its student a problem result, and another judge takes over the remaining students."""

    def __init__(self, jobs: int, limits: sandbox.Limits):
        self.jobs = jobs
        self.limits = limits

    def start(self) -> None:
        print_limits_notice()

    def grade(self, assignment: str, key: str, todo: list[Task], record: Record, progress: bool) -> None:
        context = multiprocessing.get_context("spawn")
        tasks, results = context.Queue(), context.Queue()
        by_student = {task.student: task for task in todo}
        for task in todo:
            tasks.put((task.student, str(task.staged.folder), task.notebook))
        judges: list[Judge] = []
        most_judges = self.jobs + len(todo) + 2  # each student may kill one; more: the machine is at fault
        pending = set(by_student)
        bar = report.progress_bar(len(todo), enabled=progress)

        def start_judge() -> None:
            if len(judges) >= most_judges:
                raise InfrastructureError("judge processes keep stopping before they grade anyone")
            arguments = (len(judges), assignment, tasks, results, self.limits)
            process = context.Process(target=judge_loop, args=arguments, daemon=True)
            process.start()
            tasks.put(None)  # after every task already queued: each judge leaves once the queue is empty
            judges.append(Judge(process))

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
                    code = judge.process.exitcode
                    what = f"the judge process grading this submission stopped (exit code {code})"
                    finish(judge.student, *problem_result(judge.student, assignment, what))
                    judge.student = None
                    if pending:
                        start_judge()
            if pending and not any(j.process.is_alive() for j in judges):
                start_judge()

        try:
            for _judge in range(min(self.jobs, len(todo))):
                start_judge()
            last_news = time.monotonic()
            while pending:
                try:
                    kind, index, student, payload = results.get(timeout=1.0)
                except queue.Empty:
                    look_after_judges()
                    if time.monotonic() - last_news > JUDGE_START_S and not any(j.student for j in judges):
                        stalled = "no judge process has started grading for a long time"
                        raise InfrastructureError(stalled) from None
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
