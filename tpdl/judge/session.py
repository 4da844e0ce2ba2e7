"""One submission's workers, as the judge runs them while its graders ask questions.

A :class:`Session` starts each kind of worker when a check first needs it, over the staged copy
of the submission (``tpdl.judge.intake``): the ``notebook`` worker (the student's code), the ``models``
worker (saved models, tracking stores, HTTP; no student code), the ``graphs`` worker (graphs
traced from the student's functions; no student Python) and one ``service`` worker per web
application served; a reference run of the kit's gets a models worker of its own, over nothing of
the submission. It restarts a notebook worker that died, a
bounded number of times; renews the models worker when a file it must see was staged; keeps the
end of each worker's output for the instructor's log; and stops everything at the end.

Workers' answers come back checked against ``tpdl.judge.protocol``; what went wrong comes back as a
:class:`StudentCodeError` whose message is written for the student.
"""

import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from tpdl.core.i18n import KIT as _
from tpdl.judge import protocol, sandbox
from tpdl.judge.profile import Profile

MAX_RESTARTS = 2
MAX_DELIVERABLE_BYTES = 16 * 2**20


def _open_in(folder: Path, relative: str, flags: int, mode: int = 0o600) -> int | None:
    """A descriptor of ``folder/relative`` opened with ``flags``, no link followed on the way (None if
    it cannot be): the way into a folder a worker may have changed."""
    parts = relative.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        return os.open(parts[-1], flags | os.O_NOFOLLOW, mode, dir_fd=fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def write_new_file(folder: Path, relative: str, data: bytes, uid: int | None = None) -> bool:
    """Create the plain file ``folder/relative`` holding ``data`` (owned by ``uid`` if given), in a
    folder a worker may have changed: no link followed on the way, nothing already there replaced.
    Whether it was written."""
    file_fd = _open_in(folder, relative, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    if file_fd is None:
        return False
    with os.fdopen(file_fd, "wb") as handle:
        if uid is not None:
            os.fchown(handle.fileno(), uid, uid)
        handle.write(data)
    return True


class StudentCodeError(Exception):
    """The student's code could not give an answer; the message is written for the student."""


def read_regular_file(folder: Path, relative: str, max_bytes: int) -> bytes | None:
    """The bytes of ``folder/relative`` if it is a plain file no larger than ``max_bytes``, no link on
    the way."""
    file_fd = _open_in(folder, relative, os.O_RDONLY | os.O_NONBLOCK)
    if file_fd is None:
        return None
    with os.fdopen(file_fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        return handle.read(max_bytes + 1)[:max_bytes]


class Session:
    """The workers of one submission (its staged copy at ``path``, its notebook ``notebook``)."""

    def __init__(self, zygote: sandbox.Zygote, path: Path, notebook: str):
        self.zygote = zygote
        self.path = Path(path)
        self.notebook = notebook
        self.cells: list[dict] = []
        self.events: list[str] = []  # for the instructor's log
        self._notebook: sandbox.Worker | None = None
        self._trusted: dict[str, sandbox.Worker] = {}  # the models and graphs workers
        self.models_ended = 0  # models workers stopped or lost so far: a model loaded in one of them is gone
        self._services: list[sandbox.Worker] = []
        self._restarts = 0
        self._fatal: str | None = None
        self._staging: Path | None = None  # the judge's copies of files that workers wrote
        self._staged: dict[str, Path] = {}
        self._all_workers: list[sandbox.Worker] = []  # every worker this submission had, restarts included
        self.profile = Profile()  # where the time goes (``tpdl grade --profile``)

    # -- the notebook worker

    def notebook_worker(self) -> sandbox.Worker:
        """The worker that ran the student's notebook, started (or restarted) when needed."""
        if self._fatal:
            raise StudentCodeError(self._fatal)
        if self._notebook is not None and not self._notebook.gone:
            return self._notebook
        if self._notebook is not None:
            self._retire(self._notebook)
            if self._restarts >= MAX_RESTARTS:
                self._fatal = _(
                    "Your notebook's grading process stopped {times} times (the last time, it {reason}); "
                    "the remaining checks could not run.",
                    times=MAX_RESTARTS + 1,
                    reason=self._notebook.gone,
                )
                raise StudentCodeError(self._fatal)
            self._restarts += 1
        if not (self.path / self.notebook).is_file():  # the staged copy holds no links
            self._fatal = _(
                "{notebook} is not in your submission (was it renamed or deleted?).", notebook=self.notebook
            )
            raise StudentCodeError(self._fatal)
        try:
            with self.profile.timed("notebook", "start (runs the notebook)"):
                worker = self.zygote.spawn("notebook", self.path, self.notebook)
        except sandbox.WorkerGone as gone:
            self._fatal = _("Running your notebook failed: its process {reason}.", reason=gone.reason)
            raise StudentCodeError(self._fatal) from None
        self._notebook = worker
        if worker.gone:
            self._fatal = _("Running your notebook failed: its process {reason}.", reason=worker.gone)
            raise StudentCodeError(self._fatal)
        ready = worker.ready
        if not isinstance(ready, protocol.NotebookReady):  # ``spawn`` parsed it as one
            raise TypeError(f"a notebook worker's first answer is {type(ready).__name__}")
        if not ready.ok:
            self._fatal = (
                _("Your notebook could not be read: {error}", error=ready.error.message)
                if ready.error
                else _("Your notebook could not be read: unknown error")
            )
            raise StudentCodeError(self._fatal)
        self.cells = [protocol.plain(cell) for cell in ready.cells]
        return worker

    def ask_notebook(self, request: protocol.Request, what: str):
        """The notebook worker's answer to ``request`` (``what`` names the call for messages)."""
        worker = self.notebook_worker()
        try:
            with self.profile.timed("notebook", type(request).__name__):
                return worker.ask(request)
        except sandbox.WorkerGone as gone:
            self.events.append(f"{what}: the notebook worker {gone.reason}")
            raise StudentCodeError(
                _(
                    "Calling {what} stopped your notebook's grading process: it {reason}.",
                    what=what,
                    reason=gone.reason,
                )
            ) from None

    def notebook_file(self, relative: str, max_bytes: int = MAX_DELIVERABLE_BYTES) -> bytes | None:
        """A plain file the student's code, called by the judge, left in its folder (no link on the way)."""
        if self._notebook is None:
            return None
        return read_regular_file(self._work(self._notebook), relative, max_bytes)

    def give_notebook(self, relative: str, data: bytes) -> None:
        """Put a file of the judge's (an empty tracking store, say) into the notebook worker's folder,
        for the student's code that the judge calls next."""
        worker = self.notebook_worker()
        if not write_new_file(self._work(worker), relative, data, worker.uid):
            raise StudentCodeError(
                _(
                    "{file} could not be created in your notebook's folder (is something already there?)",
                    file=relative,
                )
            )

    def stage_from_notebook(self, relative: str, missing: str) -> str:
        """Copy a file the notebook worker wrote into the judge's staging; its path for other workers
        (``missing``: the student's message if there is none)."""
        data = self.notebook_file(relative)
        if data is None:
            raise StudentCodeError(missing)
        if self._staging is None:
            self._staging = Path(tempfile.mkdtemp(prefix="tpdl-staged-"))
        name = f"{uuid.uuid4().hex[:8]}-{relative.rsplit('/', 1)[-1]}"
        (self._staging / name).write_bytes(data)
        os.chmod(self._staging / name, 0o644)
        self._staged[f"{protocol.MODELS_DIR}/{name}"] = self._staging / name
        self.renew_models()  # the next models worker sees it
        return f"{protocol.MODELS_DIR}/{name}"

    # -- the workers that run no student code

    def renew_models(self) -> None:
        """Stop the models worker, so that the next one sees the current files (a model just staged)."""
        if self._trusted.get("models") is not None:
            self._retire(self._trusted.pop("models"))
            self.models_ended += 1

    def ask_models(self, request: protocol.Request, failure: Callable[[str], str]):
        """The models worker's answer; ``failure(reason)`` is the student's message if its process
        cannot answer (``reason`` says how it ended)."""
        return self._ask_trusted("models", request, failure)

    def ask_reference(self, request: protocol.Request, failure: Callable[[str], str], timeout_s: float):
        """The answer of a models worker of its own, over nothing of the submission and stopped after
        it: the kit's reference run ``request`` depends on no file of the student's. ``timeout_s``
        replaces the request limit (the run's length is the graders', not the student's)."""
        try:
            with self.profile.timed("reference", "start"):
                worker = self.zygote.spawn("models", None)
            try:
                with self.profile.timed("reference", type(request).__name__):
                    return worker.ask(request, timeout_s)
            finally:
                self._retire(worker)
        except sandbox.WorkerGone as gone:
            self.events.append(f"reference worker: {gone.reason}")
            raise StudentCodeError(failure(gone.reason)) from None
        except sandbox.WorkerError as error:
            raise StudentCodeError(error.message) from None

    def ask_graphs(self, request: protocol.Request, what: str):
        """The graphs worker's answer (a graph traced from the student's ``what``)."""
        return self._ask_trusted(
            "graphs",
            request,
            lambda reason: _(
                "{what} could not be evaluated: its process {reason}.", what=what, reason=reason
            ),
            lambda message: _("{what}: {message}", what=what, message=message),
        )

    def _ask_trusted(
        self,
        kind: protocol.WorkerKind,
        request: protocol.Request,
        failure: Callable[[str], str],
        refused: Callable[[str], str] = str,
    ):
        """Ask the worker of ``kind`` (``models`` or ``graphs``: no student code runs in it), started
        when needed: over the staged copy and the staged files for models, over nothing for graphs.
        ``failure(reason)`` is the student's message when its process cannot answer, ``refused(message)``
        when it answers with an error."""
        try:
            worker = self._trusted.get(kind)
            if worker is None or worker.gone:
                if worker is not None:
                    self._retire(worker)
                    self.models_ended += kind == "models"
                tree, extra = (self.path, self._staged) if kind == "models" else (None, None)
                with self.profile.timed(kind, "start"):
                    worker = self._trusted[kind] = self.zygote.spawn(kind, tree, extra=extra)
            with self.profile.timed(kind, type(request).__name__):
                return worker.ask(request)
        except sandbox.WorkerGone as gone:
            self.events.append(f"{kind} worker: {gone.reason}")
            raise StudentCodeError(failure(gone.reason)) from None
        except sandbox.WorkerError as error:
            raise StudentCodeError(refused(error.message)) from None

    # -- services

    def start_service(self, module: str, factory: str, args: list) -> sandbox.Worker:
        try:
            with self.profile.timed("service", "start"):
                options = {"module": module, "factory": factory, "args": list(args)}
                worker = self.zygote.spawn("service", self.path, options=options)
        except sandbox.WorkerGone as gone:
            raise StudentCodeError(
                _("Your application could not be started: its process {reason}.", reason=gone.reason)
            ) from None
        self._services.append(worker)
        if worker.gone:
            raise StudentCodeError(
                _("Your application could not be started: its process {reason}.", reason=worker.gone)
            )
        return worker

    def remove_from(self, worker: sandbox.Worker, relative: str) -> None:
        """Delete a file of a worker's tree (does a service still answer without it?)."""
        work = self._work(worker)
        target = work / relative
        if (
            os.path.realpath(target.parent) == os.path.realpath(work)
            and target.is_file()
            and not target.is_symlink()
        ):
            target.unlink()

    # -- the end

    def _work(self, worker: sandbox.Worker) -> Path:
        return self.zygote.spool / worker.token / "work"

    def _retire(self, worker: sandbox.Worker) -> None:
        """Stop a worker, keeping what it printed and what it held at most for the instructor's log
        (its user is remembered: whatever that user leaves running is killed when the submission is done)."""
        self._all_workers.append(worker)
        printed = worker.output_excerpt()
        self.zygote.discard(worker)
        if printed.strip():
            self.events.append(f"{worker.kind} worker printed:\n{printed}")
        self.events.append(worker.held)
        if worker.detail:
            self.events.append(f"{worker.kind} worker: {worker.detail}")

    def close(self) -> None:
        """Stop every worker and whatever they left running in the jail."""
        workers = [w for w in (self._notebook, *self._trusted.values(), *self._services) if w is not None]
        for worker in workers:
            worker.signal_kill()  # all at once, then each reaped
        for worker in workers:
            self._retire(worker)
        self.zygote.kill_users({w.uid for w in self._all_workers if w.uid is not None})
        self._services, self._trusted = [], {}
        self._notebook = None
        self.zygote.sweep()
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging, self._staged = None, {}
