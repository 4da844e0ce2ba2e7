"""The judge's side of the sandbox: a bubblewrap jail holding a zygote, and the workers it forks.

Inside the jail there is no network, a private process tree, the Python installation and the
``tpdl`` package read-only, and one writable spool folder that holds, for each worker, a copy of
one submission and a control folder. Nothing of ``graders/``, ``source/`` or other students' work
is visible. When the judge runs as root, every worker also runs as a user of its own (so workers
can neither signal the zygote nor each other, and the process limit bites); otherwise bubblewrap's
user namespace stands in and every worker shares the judge's user. Each jail draws its users from
a block that no other jail on the machine holds (see :func:`reserve_users`).

Each worker, with everything it forks, lives in a control group of its own (``tpdl.judge.cgroups``) that
bounds the memory it holds and its processes; where none can be made, the judge watches it. The
judge places the worker in its group before the worker runs anything: the forked process waits
for the judge's go-ahead. Where the judge runs as root, the worker's tree is a tmpfs of its own,
bounded in bytes and files (``tpdl.judge.scratch``). Each worker also filters its own system calls
(``tpdl.judge.seccomp``), and no process of the jail holds the judge's session keyring.
"""

import fcntl
import itertools
import os
import secrets
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import typing
import uuid
from dataclasses import dataclass
from pathlib import Path

from tpdl.core import i18n
from tpdl.core.paths import PACKAGE
from tpdl.judge import cgroups, protocol, scratch, seccomp, wire
from tpdl.judge.intake import IntakeLimits

_ = i18n.KIT  # a worker's end, as the student is told it

PRELOAD = ("numpy", "tensorflow", "keras", "matplotlib", "matplotlib.pyplot", "IPython", "mlflow")
ZYGOTE_START_S = 180
SPOOL_PREFIX = "tpdl-spool-"  # then the judge's process id: a dead judge's spool is cleaned up
HELLO_S = 30  # a worker proves who it is before running anything of the student's
JAIL_TMPFS_BYTES = 64 * 2**20  # the jail's own /tmp and /dev/shm (root's; workers write in their trees)
MiB = 2**20
FIRST_UID = 62000
USER_BLOCK, USER_BLOCKS = 1000, 64  # users 62000-125999, in blocks of 1000
USER_LOCKS = Path("/run/tpdl-users")
_uids = itertools.count()
F = typing.TypeVar("F", bound=protocol.Frame)


def reserve_users() -> tuple[int, typing.IO]:
    """The first user of a block of ``USER_BLOCK`` that no other jail on this machine holds, and its lock.

    Jails graded side by side (the judges of one class, two classes, the warm pool's clients, the
    kit's test workers) must never share a user: the process limit counts a user's processes over
    the whole machine, so one jail's fork bomb would starve the other's honest worker. The block is
    held by an exclusive ``flock`` on its own file for as long as the lock stays open, and the
    kernel lets go of it when the holder dies, however it dies. Root only: ``/run`` is root's.
    """
    USER_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for block in range(USER_BLOCKS):
        lock = open(USER_LOCKS / f"{block}.lock", "a")  # noqa: SIM115 - held open on purpose
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return FIRST_UID + block * USER_BLOCK, lock
    raise SandboxUnavailable(f"all {USER_BLOCKS} blocks of sandbox users are held by jails running now")


@dataclass(frozen=True)
class Limits:
    """What one of a submission's workers may use, and what the submission may hold (``intake``)."""

    memory_bytes: int = 8 * 2**30  # a worker and everything it forks: every page they hold together
    address_space_bytes: int | None = None  # each process's address space (second line); None: memory_bytes
    cpu_seconds: int = 300
    file_bytes: int = 256 * 2**20
    processes: int = 64
    scratch_bytes: int = 2**30  # what a worker may write into its tree and its TMPDIR, beyond its copy
    scratch_files: int = 100_000  # files and folders it may add there
    notebook_s: float = 300.0  # wall clock to execute the notebook
    request_s: float = 120.0  # wall clock for one answer
    intake: IntakeLimits = IntakeLimits()  # what ``tpdl.judge.intake`` stages of it, which its workers get


WORKER_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MPLBACKEND": "Agg",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TPDL_BUDGET": "ci",
    "NBGRADER_EXECUTION": "autograde",
    "OMP_NUM_THREADS": "1",
    "KERAS_BACKEND": "tensorflow",
    "MLFLOW_DISABLE_TELEMETRY": "true",  # no thread looking up a server the jail cannot reach
    # Inside the jail the notebook's data cells read the small fixtures shipped with the kit.
    "TPDL_DATA_DIR": str(PACKAGE / "fixtures"),
}


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create the jail here."""


class WorkerError(RuntimeError):
    """A worker's error answer: ``kind`` and ``message`` as ``protocol.ErrorInfo`` declares them."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


class WorkerGone(RuntimeError):
    """The worker died, hung or broke the protocol; ``reason`` says how, for the student."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def limits_notice() -> str | None:
    """A line for the instructor per limit the kernel does not keep here (memory, disk, system calls),
    else None."""
    hierarchy, why = cgroups.detect()
    on_disk = os.geteuid() != 0
    notes = []
    if hierarchy.enforced and on_disk:
        notes.append(
            "note: the judge is not root: the workers' scratch space is on this machine's disk, "
            "bounded per file only"
        )
    elif not hierarchy.enforced:
        notes.append(
            f"note: no cgroup can be made here ({why}): the judge watches the workers' memory itself "
            "and kills a worker at its limit"
            + ("; their scratch space is on the disk, bounded per file only" if on_disk else "")
        )
    if unfiltered := seccomp.unavailable():
        notes.append(
            f"note: the workers' system calls cannot be filtered here ({unfiltered}): students' code reaches "
            "the judge's keyring, System V IPC, netlink and UDP sockets, namespaces and io_uring"
        )
    return "\n".join(notes) or None


def _remove_dead_spools() -> None:
    """Unmount and delete the spools that judges killed before they could clean up left behind."""
    for spool in Path(tempfile.gettempdir()).glob(f"{SPOOL_PREFIX}*-*"):
        owner = spool.name.removeprefix(SPOOL_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            scratch.unmount_all(spool)
            shutil.rmtree(spool, ignore_errors=True)


def _ancestors(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if str(p) != "/"]


def bwrap_command(spool: Path, privileged: bool, tmpfs_bytes: int = JAIL_TMPFS_BYTES) -> list[str]:
    """The bubblewrap command line of a jail whose only writable folder is ``spool`` (its ``/tmp`` and
    ``/dev/shm`` are tmpfs of ``tmpfs_bytes``)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: grading needs it to isolate students' code "
            "(Debian/Ubuntu: apt-get install bubblewrap)."
        )
    if privileged:
        command = [
            bwrap,
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
        ]
    else:
        command = [bwrap, "--unshare-all"]
    command += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
    # The private /tmp first: a Python or a course that lives under /tmp is bound over it.
    size = ["--size", str(tmpfs_bytes)]
    command += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/dev/shm", *size, "--tmpfs", "/tmp"]
    system_dirs = ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/alternatives", "/etc/fonts")
    system = [folder for folder in system_dirs if os.path.exists(folder)]
    for system_dir in system:
        command += ["--ro-bind", system_dir, system_dir]
    readable = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), PACKAGE}
    made: set[Path] = set()
    # The folder on the workers' PYTHONPATH (the kit's parent) is a read-only tmpfs of its own, unless it
    # lies inside a folder bound read-only (an installed kit): a course under /tmp would leave it on the
    # jail's writable /tmp, where a module a student's code left would be imported by the next worker.
    kit_parent = PACKAGE.parent
    covered = any(kit_parent == p or p in kit_parent.parents for p in [*map(Path, system), *readable])
    if not covered:
        for parent in _ancestors(kit_parent):
            command += ["--perms", "0755", "--dir", str(parent)]
            made.add(parent)
        command += ["--perms", "0755", "--tmpfs", str(kit_parent)]
        made.add(kit_parent)
    for path in sorted(readable):
        for parent in _ancestors(path):
            if parent not in made:
                command += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        command += ["--ro-bind", str(path), str(path)]
    if not covered:
        command += ["--remount-ro", str(kit_parent)]
    command += ["--bind", str(spool), "/spool"]
    # The jail's own root (a tmpfs bwrap makes, with the folders above) read-only: where the judge is not
    # root, every worker has the judge's user, and a module a student's code left in `/` or beside the
    # kit (both on the workers' import path) would be imported by the next student's worker.
    command += ["--remount-ro", "/", "--chdir", "/"]
    return command


def _peer_pid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[0]


def _is_namespace_pid(host_pid: int, jail_pid) -> bool:
    """Whether the process ``host_pid`` is the one the zygote knows as ``jail_pid``."""
    try:
        status = Path(f"/proc/{host_pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return line.split()[-1] == str(jail_pid)
    return False


def _describe_end(status: protocol.WorkerEnd | None) -> str:
    """How a worker ended, said to the student after "its process" (``tpdl.judge.session``)."""
    if status is None:
        return _("stopped answering")
    if status.signal is not None:
        name = status.signal_name or str(status.signal)
        if name == "SIGKILL":
            return _(
                "was stopped by {signal} (killed: time or memory limit, or it killed itself)", signal=name
            )
        if name == "SIGXCPU":
            return _("was stopped by {signal} (CPU time limit reached)", signal=name)
        if name == "SIGSEGV":
            return _("was stopped by {signal} (crashed)", signal=name)
        return _("was stopped by {signal}", signal=name)
    return _("exited with status {status}", status=status.exit_code)


@dataclass
class Worker:
    """One forked worker: a process in the jail answering the judge over a socket."""

    zygote: "Zygote"
    token: str
    kind: str
    conn: socket.socket
    pid: int  # in the judge's process namespace
    control: Path
    limits: Limits
    ready: protocol.Frame | None = None  # its first frame after the hello (NotebookReady, ServiceReady...)
    gone: str | None = None
    uid: int | None = None  # its user, where the judge runs as root
    group: cgroups.Group | None = None  # its control group (or the judge's watch over it)
    tree: Path | None = None  # its tmpfs (its tree, its TMPDIR, its control folder), where the judge is root
    given: scratch.Space | None = None  # what that tmpfs held when the worker started: its copy
    held: str = ""  # once discarded: what it held at most, for the instructor's log
    detail: str = ""  # what it sent that broke the protocol, for the instructor's log

    def ask(
        self,
        request: protocol.Request,
        timeout_s: float | None = None,
        interrupt_after_s: float | None = None,
    ):
        """Send ``request``; its answer, checked against the protocol. Raises :class:`WorkerError`
        when the worker answers with an error, :class:`WorkerGone` when it cannot answer. A worker
        that has not answered ``interrupt_after_s`` after the request gets ``SIGINT`` (as Jupyter
        interrupts a kernel) and may still answer until ``timeout_s``."""
        import select

        if self.gone:
            raise WorkerGone(self.gone)
        limit = timeout_s or self.limits.request_s
        deadline = time.monotonic() + limit
        nonce = uuid.uuid4().hex  # an answer must echo it: frames written in advance are refused
        try:
            self.conn.settimeout(max(0.01, deadline - time.monotonic()))
            wire.send(self.conn, protocol.request_frame(request, nonce))
            if interrupt_after_s is not None and not select.select([self.conn], [], [], interrupt_after_s)[0]:
                os.kill(self.pid, signal.SIGINT)
            ok, value = protocol.parse_answer(request, wire.recv(self.conn, deadline), nonce)
        except TimeoutError:
            raise WorkerGone(self.kill(_("did not answer within {limit:.0f} s", limit=limit))) from None
        except (EOFError, OSError):
            raise WorkerGone(self.kill(None)) from None
        except wire.WireError as error:
            raise WorkerGone(
                self.kill(_("sent something that is not plain data"), detail=str(error))
            ) from None
        except protocol.ProtocolError as error:
            raise WorkerGone(self.kill(_("broke the grading protocol"), detail=str(error))) from None
        if not ok:
            raise WorkerError(value.kind, value.message)
        return value

    def hung_up(self) -> bool:
        """Whether the worker closed its end of the socket (it stopped), without waiting."""
        import select

        if self.gone:
            return True
        try:
            readable, _writable, _failed = select.select([self.conn], [], [], 0)
            return bool(readable) and self.conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def kill(self, reason: str | None, detail: str = "") -> str:
        """Stop the worker and everything it started; remember why (``reason``, told to the student
        after "its process"; ``detail``, for the instructor's log), for later requests. Why it is gone."""
        if self.gone:
            return self.gone
        self.detail = detail
        self.signal_kill()
        status = self.zygote.reap(self.token)
        self.gone = gone = reason or self.limit_met() or _describe_end(status)
        self.conn.close()
        return gone

    def scratch_used(self) -> scratch.Space | None:
        """What it added to its tmpfs, against what it could add (None where it has none)."""
        if self.tree is None or self.given is None:
            return None
        try:
            return scratch.space(self.tree) - self.given
        except OSError:
            return None

    def limit_met(self) -> str | None:
        """Which of its limits a worker that ended had met, told after "its process" (None if none)."""
        usage = self.group.usage() if self.group is not None else None
        if usage is not None and usage.oom_kills:
            return _(
                "reached its memory limit ({limit} MiB) and was stopped",
                limit=self.limits.memory_bytes // MiB,
            )
        used = self.scratch_used()
        if used is not None and used.full:
            return _(
                "filled its scratch space ({size} MiB, {files} files) and stopped",
                size=self.limits.scratch_bytes // MiB,
                files=self.limits.scratch_files,
            )
        if usage is not None and usage.forks_refused:
            return _("reached its limit of {count} processes and stopped", count=self.limits.processes)
        return None

    def report(self) -> str:
        """What it held at most, as the kernel (or the judge's watch) counted it: one line of the log."""
        usage = self.group.usage() if self.group is not None else None
        peak = "(not measured)" if usage is None or usage.peak_bytes is None else f"{usage.peak_bytes}"
        enforced = self.zygote.hierarchy.name
        line = f"{self.kind} worker: memory at most {peak} bytes of {self.limits.memory_bytes} ({enforced})"
        if usage is not None:
            line += (
                f", stopped at the memory limit {usage.oom_kills} times, forks refused {usage.forks_refused}"
            )
        used = self.scratch_used()
        if used is not None:
            line += (
                f"; scratch {used.used_bytes} bytes of {used.size_bytes}, "
                f"{used.used_files} files of {used.files} (tmpfs)"
            )
        return line

    def signal_kill(self) -> None:
        """Send ``SIGKILL`` to the worker and everything it started, without waiting for it to die
        (:meth:`kill` waits): several workers stopped together die side by side."""
        if self.gone:
            return
        for kill in (os.killpg, os.kill):  # the worker leads its own session
            try:
                kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def output_excerpt(self, head: int = 1000, tail: int = 3000) -> str:
        """The beginning and the end of what the worker printed (for instructors' logs, never feedback)."""
        try:
            fd = os.open(self.control / "output.log", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return ""
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return ""
            if info.st_size <= head + tail:
                return handle.read(head + tail).decode(errors="replace")
            first = handle.read(head).decode(errors="replace")
            handle.seek(info.st_size - tail)
            last = handle.read(tail).decode(errors="replace")
            return f"{first}\n[... {info.st_size - head - tail:,} bytes left out ...]\n{last}"


READY = {
    "notebook": protocol.NotebookReady,
    "models": protocol.Ready,
    "graphs": protocol.Ready,
    "service": protocol.ServiceReady,
    "cells": protocol.Ready,
}


def give_tree(
    staged: Path | None, target: Path, uid: int | None, extra: dict[str, Path] | None = None
) -> None:
    """Give a worker its own tree of a staged submission at ``target``, with no data copied where it
    can be avoided.

    The staged copy (``tpdl.judge.intake``) holds regular files and folders only, all the judge's. Where
    the judge is root, the worker runs as another user: its folders are its own and its files are
    hard links to the staged ones, which it can read, replace or delete but never change, so one
    staged copy serves every worker of the submission. Otherwise workers share the judge's user,
    and each gets a copy. ``extra`` adds files of the judge's at relative paths; with no
    ``staged`` copy, the tree is an empty folder (a worker that needs no submission).
    """
    link = uid is not None
    stack = [(staged, target)] if staged is not None else []
    if staged is None:
        _own_folder(target, uid)
    while stack:  # no recursion: the staged tree's depth is bounded, but a stack needs no bound
        source, destination = stack.pop()
        _own_folder(destination, uid)
        with os.scandir(source) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), destination / entry.name))
                elif entry.is_file(follow_symlinks=False):
                    _place(Path(entry.path), destination / entry.name, link)
    for relative, source in (extra or {}).items():
        destination = target / relative
        for parent in reversed(destination.relative_to(target).parents[:-1]):
            if not (target / parent).is_dir():
                _own_folder(target / parent, uid)
        _place(source, destination, link)


def _own_folder(path: Path, uid: int | None) -> None:
    path.mkdir(mode=0o700)
    if uid is not None:
        os.chown(path, uid, uid)


def _place(source: Path, destination: Path, link: bool) -> None:
    """Link ``source`` in when no worker could change it (root's, written by root alone), else copy it."""
    info = os.lstat(source)
    if link and info.st_uid == 0 and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        try:
            os.link(source, destination, follow_symlinks=False)
            return
        except OSError:  # another file system: a read-only copy of the judge's does the same
            pass
    shutil.copyfile(source, destination, follow_symlinks=False)
    if link:
        os.chmod(destination, 0o644)


class Zygote:
    """A jail with a Python that imported TensorFlow once, forking a fresh worker per request."""

    def __init__(self, limits: Limits = Limits(), preload=PRELOAD):
        self.limits = limits
        self.preload = preload
        self.privileged = os.geteuid() == 0
        # The workers' users: a block of this jail's own (jails graded side by side never share users).
        self.uid_base: int | None
        self._users_lock: typing.IO | None
        self.uid_base, self._users_lock = reserve_users() if self.privileged else (None, None)
        self._set_up_limits()
        self.spool = self._new_spool()
        self.process: subprocess.Popen | None = None
        self.import_s: float | None = None

    def _set_up_limits(self) -> None:
        # Where the workers' groups are made (a cgroup hierarchy, or the judge's watch); the group of
        # this sandbox is made with its first worker.
        self.hierarchy, _why = cgroups.detect()
        self._parent: cgroups.Parent | None = None
        self._trees: set[Path] = set()  # the tmpfs of this sandbox's workers not yet discarded

    def _new_spool(self) -> Path:
        """A spool folder for a new jail; where the judge is root, mounts made under it reach the jail."""
        if self.privileged:
            _remove_dead_spools()
        spool = Path(tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-"))
        os.chmod(spool, 0o755)
        if self.privileged:
            scratch.share(spool)
        return spool

    def _release_limits(self) -> None:
        """Unmount the workers' tmpfs this sandbox still holds and remove its groups (their members
        killed)."""
        for tree in self._trees:
            scratch.unmount(tree)
        self._trees.clear()
        if self._parent is not None:
            self._parent.remove()
            self._parent = None

    # -- life cycle

    def start(self) -> "Zygote":
        """Launch the jail and wait until the zygote has imported its libraries."""
        return self.launch().wait_ready()

    def revive(self) -> None:
        """A new jail in place of one whose zygote died (a worker killed it, say)."""
        self.stop()
        self.spool = self._new_spool()
        self.start()

    def launch(self) -> "Zygote":
        """Start the jail without waiting: the zygote imports TensorFlow while the judge gets ready."""
        command = bwrap_command(self.spool, self.privileged)
        # The interpreter by a path the jail has: ``..`` through a folder it does not bind is gone.
        command += [os.path.normpath(sys.executable), "-m", "tpdl.judge.worker", "zygote", *self.preload]
        env = {**WORKER_ENV, "HOME": "/tmp", "PYTHONPATH": str(PACKAGE.parent)}
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        return self

    def wait_ready(self) -> "Zygote":
        try:
            ready = self._read(protocol.ZygoteReady, ZYGOTE_START_S)
        except SandboxUnavailable:
            self.close()
            raise SandboxUnavailable(
                "the sandbox did not start (is bubblewrap allowed to create namespaces?)"
            ) from None
        self.import_s = ready.import_s
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Kill the jail and remove its spool; the block of users stays this zygote's."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None
        self._release_limits()
        if self.privileged:
            scratch.unmount_all(self.spool)
        shutil.rmtree(self.spool, ignore_errors=True)

    def close(self) -> None:
        """Stop the jail and give its block of users back."""
        self.stop()
        self._give_users_back()

    def _give_users_back(self) -> None:
        if self._users_lock is not None:
            self._users_lock.close()
            self._users_lock = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- control channel

    def _read(self, kind: type[F], timeout_s: float) -> F:
        """The zygote's next line, checked against ``kind``; :class:`SandboxUnavailable` if none comes in
        time, or it is something else."""
        import selectors

        reader = self._reader()
        with selectors.DefaultSelector() as selector:
            selector.register(self._selectable(), selectors.EVENT_READ)
            if not selector.select(timeout_s):
                raise SandboxUnavailable(f"the sandbox's zygote did not answer within {timeout_s:.0f} s")
        line = reader.readline()
        if not line:
            raise SandboxUnavailable("the sandbox's zygote hung up")
        try:
            return protocol.parse_line(kind, line, "the zygote's answer")
        except protocol.ProtocolError as error:
            raise SandboxUnavailable(str(error)) from None

    def _reader(self):
        return self.process.stdout

    def _selectable(self):
        return self.process.stdout

    def _writer(self):
        return self.process.stdin

    @property
    def jail_pid(self) -> int:
        """The judge-side process id of the jail (bubblewrap)."""
        if self.process is None:
            raise SandboxUnavailable("the sandbox is not running")
        return self.process.pid

    def control(self, request: protocol.Frame, answer: type[F], timeout_s: float = 30) -> F:
        """The zygote's answer to ``request``, checked on receipt against ``answer``
        (``protocol.ZYGOTE_ANSWERS`` pairs them)."""
        if not self.alive():
            raise SandboxUnavailable("the sandbox's zygote is not running")
        self._writer().write(protocol.control_line(request))
        self._writer().flush()
        return self._read(answer, timeout_s)

    def reap(self, token: str) -> protocol.WorkerEnd | None:
        """How the worker ``token`` ended (None: it did not end within 2 s, or the zygote is gone)."""
        if not self.alive():
            return None
        try:
            return self.control(protocol.Reap(token=token, wait_s=2.0), protocol.Reaped).status
        except SandboxUnavailable:
            return None

    def kill_users(self, uids: set[int]) -> None:
        """Kill every process of these workers' users, at once (root only).

        The zygote forks a helper per user that takes the user's identity and sends ``SIGKILL`` to
        every process it may signal: the kernel does it in one pass, which no process of that user
        can outrun by forking (a chain of forks escapes a sweep of ``/proc``; not this).
        """
        if self.privileged and uids and self.alive():
            self.control(protocol.KillUsers(uids=sorted(uids)), protocol.UsersKilled)

    def sweep(self) -> None:
        """Kill every process of the jail but its init and the zygote (what workers left behind)."""
        if not self.alive():
            return

        def first_child(pid: int) -> int:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            return int(children[0])

        try:  # bwrap -> the jail's init -> the zygote
            init = first_child(self.jail_pid)
            keep = {self.jail_pid, init, first_child(init)}
            namespace = os.readlink(f"/proc/{init}/ns/pid")
        except (OSError, IndexError, ValueError):
            return
        for _attempt in range(50):
            found = False
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit() or int(entry.name) in keep:
                    continue
                try:
                    if os.readlink(entry / "ns" / "pid") != namespace:
                        continue
                    os.kill(int(entry.name), signal.SIGKILL)
                    found = True
                except OSError:
                    continue
            if not found:
                return
            time.sleep(0.01)

    # -- workers

    def spawn(
        self,
        kind: protocol.WorkerKind,
        submission: Path | None,
        notebook: str | None = None,
        skip_tags: tuple[str, ...] = ("skip-grading",),
        extra: dict[str, Path] | None = None,
        options: dict | None = None,
    ) -> Worker:
        """Fork a worker of ``kind`` (``notebook``, ``models``, ``graphs``, ``service``) over its own
        tree of the staged ``submission`` (see :func:`give_tree`).

        ``extra`` maps relative paths to files of the judge that the tree also gets (files the
        judge staged, such as a model a student's function returned); ``options`` go to the worker
        as they are (a ``service`` worker's application). A worker that does not start, or does
        not prove who it is, comes back already gone, with the reason.
        """
        if not self.alive():
            self.revive()
        token = uuid.uuid4().hex[:12]
        key = secrets.token_bytes(32)  # the worker proves it holds it; nobody else ever sees it
        host_dir = self.spool / token
        control = host_dir / "control"
        uid = None if self.uid_base is None else self.uid_base + next(_uids) % USER_BLOCK
        tree, given, group = self._prepare(host_dir, uid, submission, extra)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(control / "sock"))
        listener.listen(1)
        inside = f"/spool/{token}"
        limits = protocol.WorkerLimits(
            address_space_bytes=self.limits.address_space_bytes or self.limits.memory_bytes,
            cpu_seconds=self.limits.cpu_seconds,
            file_bytes=self.limits.file_bytes,
            processes=self.limits.processes,
        )
        request = protocol.Spawn(
            token=token,
            kind=kind,
            uid=uid,
            key=key.hex(),
            work=f"{inside}/work",
            control=f"{inside}/control",
            notebook=f"{inside}/work/{notebook}" if notebook else None,
            skip_tags=list(skip_tags),
            env={**WORKER_ENV, "TMPDIR": f"{inside}/tmp", i18n.ENV: i18n.language()},
            options=options or {},
            limits=limits,
        )
        try:
            answer = self.control(request, protocol.Spawned)
        except SandboxUnavailable:
            listener.close()
            self._clean(host_dir, group)
            raise
        listener.settimeout(30)
        try:
            conn, _address = listener.accept()
        except TimeoutError:
            self._clean(host_dir, group)
            raise WorkerGone(_("did not start")) from None
        finally:
            listener.close()
        peer = _peer_pid(conn)
        if not _is_namespace_pid(peer, answer.pid):
            conn.close()
            self._clean(host_dir, group)
            raise WorkerGone(_("did not start (another process answered in its place)"))
        worker = Worker(
            self, token, kind, conn, peer, control, self.limits, uid=uid, group=group, tree=tree, given=given
        )
        if answer.token != token:
            worker.kill(_("could not be started by the sandbox"))
            return worker
        # The worker waits for the go-ahead: nothing of the student's runs outside its group.
        try:
            group.add(peer)
        except ProcessLookupError:
            worker.kill(_("did not start"))
            return worker
        except OSError as error:
            worker.kill(_("could not be placed in its control group"))
            self.discard(worker)
            raise SandboxUnavailable(f"a worker could not be placed in its control group: {error}") from None
        try:
            conn.sendall(protocol.PLACED)
            protocol.check_hello(wire.recv(conn, time.monotonic() + HELLO_S), key, token)
        except (TimeoutError, EOFError, OSError):
            worker.kill(_("did not start"))
            return worker
        except (wire.WireError, protocol.ProtocolError):
            worker.kill(_("did not start (its first frame was not the proof the protocol requires)"))
            return worker
        deadline = time.monotonic() + (self.limits.notebook_s if kind == "notebook" else 60)
        try:
            worker.ready = protocol.parse(READY[kind], wire.recv(conn, deadline), "its first answer")
        except TimeoutError:
            worker.kill(
                _(
                    "did not finish running your notebook within {limit:.0f} s "
                    "(cells tagged skip-grading are not run)",
                    limit=self.limits.notebook_s,
                )
            )
        except (EOFError, OSError):
            worker.kill(None)
        except (wire.WireError, protocol.ProtocolError) as error:
            worker.kill(_("broke the grading protocol"), detail=str(error))
        return worker

    def _prepare(
        self, host_dir: Path, uid: int | None, submission: Path | None, extra: dict[str, Path] | None
    ) -> tuple[Path | None, scratch.Space | None, cgroups.Group]:
        """A worker's folder (its tree, its tmp, its control folder) and its control group.

        Where the judge is root, the folder is a tmpfs: mounted large enough for the copy, filled,
        then bounded to the copy plus the worker's scratch allowance. Returns the tmpfs (or None),
        what it held once filled, and the group.
        """
        host_dir.mkdir()
        tree = given = None
        try:
            if self.privileged:
                extra_bytes = sum(os.path.getsize(p) for p in (extra or {}).values())
                scratch.mount(
                    host_dir,
                    self.limits.intake.total_bytes + extra_bytes + self.limits.scratch_bytes,
                    self.limits.intake.files + len(extra or {}) * 4 + self.limits.scratch_files,
                )
                tree = host_dir
                self._trees.add(tree)
            control, tmp = host_dir / "control", host_dir / "tmp"
            control.mkdir()
            give_tree(submission, host_dir / "work", uid, extra)
            tmp.mkdir(mode=0o700)
            if uid is not None:
                # The worker owns its tree's folders and its tmp; the token and control folders stay
                # the judge's.
                os.chown(tmp, uid, uid)
                os.chmod(host_dir, 0o711)
            if tree is not None:
                given = scratch.space(tree)
                scratch.resize(
                    tree,
                    given.used_bytes + self.limits.scratch_bytes,
                    given.used_files + self.limits.scratch_files,
                )
            if self._parent is None:
                self._parent = self.hierarchy.parent()
            group = self._parent.group(host_dir.name, self.limits.memory_bytes, self.limits.processes, uid)
        except OSError as error:
            self._clean(host_dir, None)
            raise SandboxUnavailable(
                f"a worker's folder or control group could not be made: {error}"
            ) from None
        except BaseException:
            self._clean(host_dir, None)
            raise
        return tree, given, group

    def _clean(self, host_dir: Path, group: cgroups.Group | None) -> None:
        """Remove a worker's group and folder (its tmpfs unmounted)."""
        if group is not None:
            group.remove()
        if host_dir in self._trees:
            self._trees.discard(host_dir)
            scratch.unmount(host_dir)
        shutil.rmtree(host_dir, ignore_errors=True)

    def discard(self, worker: Worker) -> None:
        """Stop ``worker`` and whatever it left running in its group, note what it held, and delete
        its tree (its tmpfs unmounted)."""
        worker.kill(_("was closed by the judge"))
        if worker.group is not None:
            worker.group.kill()
        worker.held = worker.report()
        self._clean(self.spool / worker.token, worker.group)


class PooledZygote(Zygote):
    """A zygote kept warm by ``tpdl pool`` between grading runs, reached over a Unix socket."""

    def __init__(self, address: Path, limits: Limits = Limits()):
        self.limits = limits
        self.privileged = os.geteuid() == 0
        self._users_lock = None
        self.process = None
        self._set_up_limits()  # the workers' control groups and tmpfs are this client's
        self.connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.connection.settimeout(5)
        self.connection.connect(str(address))
        self.connection.settimeout(None)
        self.stream: typing.TextIO | None = self.connection.makefile("rw", buffering=1)
        try:
            hello = self._read(protocol.PoolHello, 10)
        except SandboxUnavailable:
            self.close()
            raise SandboxUnavailable("the warm pool did not answer") from None
        self.spool = Path(hello.spool)
        self._jail_pid = hello.jail_pid
        self.import_s = 0.0
        # The pool's jail forks the workers; their users come from this client's own block.
        self.uid_base, self._users_lock = reserve_users() if self.privileged else (None, None)

    def launch(self) -> "PooledZygote":
        return self

    def revive(self) -> None:
        raise SandboxUnavailable("the warm pool stopped; run `tpdl pool` again or grade without it")

    def wait_ready(self) -> "PooledZygote":
        return self

    def alive(self) -> bool:
        return self.stream is not None

    def _reader(self):
        return self.stream

    def _selectable(self):
        return self.connection  # one line per answer: nothing waits in the stream's buffer

    def _writer(self):
        return self.stream

    @property
    def jail_pid(self) -> int:
        return self._jail_pid

    def close(self) -> None:
        """Hang up; the pool (and its jail) stays warm for the next run."""
        if self.stream is not None:
            self.stream.close()
            self.connection.close()
            self.stream = None
        self._release_limits()
        self._give_users_back()
