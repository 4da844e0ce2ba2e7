"""What every worker shares: its entry into confinement, its refusals, and its loop of requests."""

import contextlib
import ctypes
import os
import resource
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from tpdl.core.i18n import KIT as _
from tpdl.judge import protocol, seccomp, wire

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
Handlers = dict[type, Callable[[Any], Any]]


class Refused(Exception):
    """A request that gets an error answer (``kind`` and ``message`` as ``protocol.ErrorInfo``)."""

    def __init__(self, kind: protocol.ErrorKind, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


def raised(error: BaseException) -> Refused:
    """What the student's code raised, as an answer: ``ValueError: the first line of its message``.

    A subclass of ``ValueError`` (an app's own ``BadInput``) is a ``ValueError``, as the specs ask."""
    text = str(error).strip().splitlines()
    detail = f": {text[0]}" if text else ""
    name = "ValueError" if isinstance(error, ValueError) else type(error).__name__
    return Refused("raised", f"{name}{detail}")


@contextlib.contextmanager
def students_code() -> Iterator[None]:
    """Run the student's code (or something of theirs, a model): whatever it raises, ``KeyboardInterrupt``
    and ``SystemExit`` included, becomes the ``raised`` refusal (:func:`raised`)."""
    try:
        yield
    except BaseException as error:  # noqa: BLE001 - whatever the student's code raised
        raise raised(error) from None


def prctl(option: int, value: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def enter_worker(spawn: protocol.Spawn) -> socket.socket:
    """Turn the freshly forked process into a confined worker, connected to the judge and introduced."""
    os.setsid()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.path.join(spawn.control, "sock"))
    # Nothing more runs until the judge has put this process in its control group (``tpdl.judge.cgroups``):
    # whatever it forks from now on is counted there.
    if sock.recv(1) != protocol.PLACED:
        os._exit(1)
    log = os.open(os.path.join(spawn.control, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if spawn.uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(spawn.uid, spawn.uid, spawn.uid)
        os.setresuid(spawn.uid, spawn.uid, spawn.uid)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    if seccomp.unavailable() is None:  # else the judge said so when it started
        seccomp.confine(spawn.kind)  # what it may ask of the kernel, before anything of the student's runs
    limits = spawn.limits
    _limit(resource.RLIMIT_AS, limits.address_space_bytes)  # behind the control group's memory limit
    _limit(resource.RLIMIT_CPU, limits.cpu_seconds)
    _limit(resource.RLIMIT_FSIZE, limits.file_bytes)
    _limit(resource.RLIMIT_NPROC, limits.processes)
    _limit(resource.RLIMIT_NOFILE, 256)
    _limit(resource.RLIMIT_CORE, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full log fails a write, it does not kill
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    # Standard streams go to a capped log; nothing else of the zygote stays open.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    keep = sock.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)
    # The worker's standard streams for the rest of its life: never closed.
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    # The submission's visible sources are what runs: no bytecode is written (and none was handed
    # over: the intake drops it), so none can stand in for a source later.
    sys.dont_write_bytecode = True
    os.environ.clear()
    os.environ.update(spawn.env, HOME=spawn.work, PWD=spawn.work)
    if spawn.kind in ("notebook", "cells"):
        sys.path.insert(0, spawn.work)  # as in a kernel, the notebook's folder is importable
    tempfile.tempdir = None  # forget a temporary folder chosen before the environment changed
    os.chdir(spawn.work)
    # The proof, sent before any student code runs; the key goes with the request the zygote forgets.
    key = bytes.fromhex(spawn.key)
    hello = protocol.Hello(token=spawn.token, proof=protocol.proof(key, spawn.token))
    wire.send(sock, protocol.plain(hello))
    return sock


def send_ready(sock: socket.socket, ready: protocol.Frame) -> None:
    """The worker's first frame after its hello (``protocol.Ready``, ``NotebookReady``, ``ServiceReady``)."""
    wire.send(sock, protocol.plain(ready))


def _send_answer(sock: socket.socket, nonce: str, value: Any = None, error: Refused | None = None) -> None:
    info = None if error is None else protocol.ErrorInfo(kind=error.kind, message=error.message[:600])
    try:
        wire.send(sock, protocol.answer_frame(nonce, value, info))
    except BaseException as problem:  # noqa: BLE001 - an __array__ or __iter__ of the student's raised
        message = _("the answer cannot be sent back: {problem}", problem=problem)[:600]
        wire.send(
            sock, protocol.answer_frame(nonce, error=protocol.ErrorInfo(kind="unsendable", message=message))
        )


def serve(sock: socket.socket, kind: str, handlers: Handlers) -> None:
    """Answer the judge's requests with ``handlers[type(request)](request)`` until it hangs up."""
    while True:
        try:
            frame = wire.recv(sock)
        except EOFError:
            return
        nonce = frame.get("id", "") if isinstance(frame, dict) and isinstance(frame.get("id"), str) else ""
        try:
            nonce, request = protocol.parse_request(frame, kind)
            handler = handlers[type(request)]
        except (protocol.ProtocolError, KeyError) as error:
            _send_answer(sock, nonce, error=Refused("protocol", str(error)))
            continue
        try:
            value = handler(request)
        except Refused as refusal:
            _send_answer(sock, nonce, error=refusal)
            continue
        except BaseException as error:  # noqa: BLE001 - whatever the student's code (or its model) raised
            _send_answer(sock, nonce, error=raised(error))
            continue
        _send_answer(sock, nonce, value)
