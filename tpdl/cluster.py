"""Grading a class on the workers of a Dask distributed cluster (``tpdl grade --cluster ADDRESS``).

The judge (the ``tpdl grade`` process) stages every submission as it does for ``--jobs``; then
each student to grade becomes one Dask task, carrying the staged copy as a tar archive and the
judge's cache key (``classroom.cache_key``). Every worker process holds one sandbox, started when
the run registers its :class:`SandboxPlugin` and reused for each student that worker grades; a
worker whose own cache key differs (another kit, graders, data or software on that node) refuses
to grade. Results come back in the order they are finished and are recorded by the judge exactly
as its own judge processes' are, so the outputs, the feedback and resuming after ``kill -9`` are
those of ``--jobs 1``. Dask grades again elsewhere a student whose worker is lost; a task that
fails for good (``KilledWorker``, a student stopped after ``classroom.STUDENT_S``, a task cancelled)
is its student's problem result, and the rest of the class goes on.
"""

import asyncio
import contextlib
import io
import os
import socket
import tarfile
import tempfile
import threading
import uuid
from pathlib import Path

import distributed

from tpdl import classroom, i18n, report, sandbox

CONNECT_S = 30  # to reach the scheduler
WORKERS_S = classroom.JUDGE_START_S  # for a first worker to join a cluster that has none

# A worker process's sandbox grades one student at a time, however many threads the worker runs.
_SANDBOX_IN_USE = threading.RLock()


# --------------------------------------------------------------------------- the judge's side


def grade_on_cluster(address: str, assignment: str, todo: list, key: str, record, progress, limits) -> None:
    """Grade the tasks ``todo`` (``classroom.Task``) on the workers of the scheduler at ``address``.

    ``key`` is the judge's cache key, which every worker must share; each result is handed to
    ``record(task, result, log)`` the moment it arrives.
    """
    client = connect(address)
    plugin = SandboxPlugin(limits)
    try:
        try:
            client.wait_for_workers(1, timeout=WORKERS_S)
        except TimeoutError:
            raise classroom.InfrastructureError(
                f"no worker joined the Dask cluster at {address} within {WORKERS_S} s"
            ) from None
        try:
            client.register_plugin(plugin, name=plugin.name)
        except Exception as error:  # noqa: BLE001 - raised by a worker's setup, sent back by Dask
            raise classroom.InfrastructureError(
                f"a worker of {address} could not start its sandbox: {type(error).__name__}: {error}"
            ) from None
        futures = {
            client.submit(
                grade_remotely, plugin.name, assignment, task.student, task.notebook,
                pack(task.staged.folder), key, i18n.language(),
                key=f"tpdl-grade-{task.student}-{task.stamp}-{plugin.run}", pure=False,
            ): task
            for task in todo
        }  # fmt: skip
        bar = report.progress_bar(len(todo), enabled=progress)
        try:
            for future in distributed.as_completed(futures):
                task = futures.pop(future)
                result, log = _collected(future, assignment, task.student)
                future.release()  # the result is here: its worker lost now, the cluster grades no one again
                record(task, result, log)
                bar.advance(task.student, result)
        finally:
            bar.close()
    finally:
        with contextlib.suppress(Exception):  # a scheduler gone took its workers' sandboxes with it
            client.unregister_worker_plugin(plugin.name)  # each worker closes its sandbox
        client.close()


def connect(address: str) -> distributed.Client:
    """A client of the Dask scheduler at ``address``; a clear error when there is none to reach."""
    if not address:
        raise classroom.UsageError("--cluster needs the address of a Dask scheduler (tcp://host:8786)")
    try:
        return distributed.Client(address, timeout=CONNECT_S)
    except ValueError as error:
        problem = classroom.UsageError(
            f"{address!r} is not the address of a Dask scheduler (tcp://host:8786): {error}"
        )
    except (OSError, TimeoutError) as error:
        problem = classroom.InfrastructureError(f"cannot reach the Dask scheduler at {address}: {error}")
    raise problem  # outside the handlers: the half-made client is not kept alive as the error's context


def pack(folder: Path) -> bytes:
    """The staged copy ``folder`` (regular files and folders only) as a tar archive, names relative to it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(folder, arcname=".")
    return buffer.getvalue()


def _collected(future: distributed.Future, assignment: str, student: str) -> tuple[dict, str]:
    """The ``(result, log)`` of a finished task; a task that failed is its student's problem result."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - a worker lost (KilledWorker), the task cancelled...
        what = f"the cluster could not grade this submission: {type(error).__name__}: {error}"
        return classroom._problem_result(student, assignment, what)


# --------------------------------------------------------------------------- the workers' side


class SandboxPlugin(distributed.WorkerPlugin):
    """One sandbox per worker process: started at ``setup``, reused for every student, closed at ``teardown``.

    Each grading run registers a plugin of its own (``name``), so that two runs sharing a cluster
    never use or close each other's sandboxes.
    """

    def __init__(self, limits: sandbox.Limits):
        self.limits = limits
        self.run = uuid.uuid4().hex[:12]  # this grading run's, in its plugin's name and its tasks' keys
        self.name = f"tpdl-sandbox-{self.run}"
        self.zygote: sandbox.Zygote | None = None

    async def setup(self, worker: distributed.Worker) -> None:
        """Start the sandbox (TensorFlow imported) off the worker's event loop, before any student comes."""
        await asyncio.to_thread(self.running_sandbox)

    def teardown(self, worker: distributed.Worker) -> None:
        if self.zygote is not None:
            self.zygote.close()

    def running_sandbox(self) -> sandbox.Zygote:
        """This worker's sandbox, started again if it stopped (a student out of time, a jail that died)."""
        with _SANDBOX_IN_USE:
            if self.zygote is None or not self.zygote.alive():
                if self.zygote is not None:
                    self.zygote.close()
                self.zygote = sandbox.Zygote(self.limits).start()
            return self.zygote

    def grade(self, assignment: str, student: str, notebook: str, archive: bytes, judge_key: str,
              language: str) -> tuple:  # fmt: skip
        """Grade one student's archived submission here, speaking to the student in the judge's
        ``language``; ``(result, log)`` as ``classroom._grade_one``."""
        with _SANDBOX_IN_USE, tempfile.TemporaryDirectory(prefix="tpdl-submission-") as scratch:
            os.environ[i18n.ENV] = language  # one grading at a time in this process: its graders read it
            here = classroom.cache_key(assignment, self.limits)
            if here != judge_key:
                return classroom._problem_result(
                    student, assignment,
                    f"the worker on {socket.gethostname()} refused to grade: its kit, graders, data or software "
                    f"differ from the judge's (cache key {here[:12]} there, {judge_key[:12]} on the judge)",
                )  # fmt: skip
            folder = Path(scratch) / assignment
            with tarfile.open(fileobj=io.BytesIO(archive)) as unpacked:
                unpacked.extractall(folder, filter="data")
            try:
                zygote = self.running_sandbox()
            except sandbox.SandboxUnavailable as error:
                what = f"the worker on {socket.gethostname()} could not start its sandbox: {error}"
                return classroom._problem_result(student, assignment, what)
            return _graded_in_time(zygote, assignment, student, folder, notebook)


def _graded_in_time(zygote: sandbox.Zygote, assignment, student, folder: Path, notebook) -> tuple[dict, str]:
    """``classroom._grade_one``, its sandbox stopped if the student keeps it past ``classroom.STUDENT_S``."""
    out_of_time = threading.Event()

    def stop() -> None:
        out_of_time.set()
        zygote.stop()  # its workers die, so every check still waiting on them returns at once

    watchdog = threading.Timer(classroom.STUDENT_S, stop)
    watchdog.start()
    try:
        result = classroom._grade_one(zygote, assignment, student, folder, notebook)
    except sandbox.SandboxUnavailable as error:
        result = classroom._problem_result(student, assignment, f"the sandbox stopped: {error}")
    finally:
        watchdog.cancel()
    if out_of_time.is_set():
        return classroom._problem_result(
            student, assignment, f"grading took more than {classroom.STUDENT_S} s and was stopped"
        )
    return result


def grade_remotely(plugin: str, assignment: str, student: str, notebook: str, archive: bytes, judge_key: str,
                   language: str):  # fmt: skip
    """The task of one student, run on a worker: grade it with that worker's sandbox (plugin ``plugin``)."""
    worker = distributed.get_worker()
    return worker.plugins[plugin].grade(assignment, student, notebook, archive, judge_key, language)
