"""The zygote: imports the heavy libraries once, then forks a fresh worker per request of the judge.

It runs no TensorFlow operation and none of the students' code. It reads the judge's requests
(``protocol.Spawn``, ``protocol.Reap``, ``protocol.KillUsers``) on its standard input and answers
each on its standard output, one JSON object a line; each forked worker enters its confinement
(:func:`tpdl.judge.worker.common.enter_worker`) and becomes the worker of the kind asked for.
"""

import contextlib
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import IO

from tpdl.core.i18n import KIT as _
from tpdl.judge import protocol, seccomp
from tpdl.judge.worker.cells import cells_worker
from tpdl.judge.worker.common import PR_SET_DUMPABLE, enter_worker, prctl
from tpdl.judge.worker.graphs import graphs_worker
from tpdl.judge.worker.models import models_worker
from tpdl.judge.worker.notebook import notebook_worker
from tpdl.judge.worker.service import service_worker

WORKERS: dict[str, Callable[[socket.socket, protocol.Spawn], None]] = {
    "notebook": notebook_worker,
    "models": models_worker,
    "graphs": graphs_worker,
    "service": service_worker,
    "cells": cells_worker,
}


def _run_child(spawn: protocol.Spawn) -> None:
    """The body of a forked worker; it never returns."""
    code = 0
    try:
        sock = enter_worker(spawn)
        WORKERS[spawn.kind](sock, spawn)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - report, then leave
        traceback.print_exc()
        code = 70
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _describe_status(status: int) -> protocol.WorkerEnd:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return protocol.WorkerEnd(signal=number, signal_name=signal.Signals(number).name)
    return protocol.WorkerEnd(exit_code=os.WEXITSTATUS(status))


def _kill_user(uid: int) -> bool:
    """Kill every process of ``uid`` from a helper that becomes that user: ``kill(-1)`` reaches all
    of them in one pass of the kernel, however fast they fork. Whether the helper ran."""
    if os.getuid() != 0 or uid <= 0:
        return False
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return True


class Zygote:
    """The zygote's state: its control channel to the judge and the workers it forked, by token."""

    def __init__(self, control_out: IO[str]):
        self.control_out = control_out
        self.children: dict[str, int] = {}

    def spawn(self, request: protocol.Spawn) -> protocol.Spawned:
        pid = os.fork()
        if pid == 0:
            self.control_out.close()
            _run_child(request)
        self.children[request.token] = pid
        return protocol.Spawned(token=request.token, pid=pid)

    def reap(self, request: protocol.Reap) -> protocol.Reaped:
        pid = self.children.get(request.token)
        deadline = time.monotonic() + request.wait_s
        while pid is not None:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                self.children.pop(request.token)
                return protocol.Reaped(token=request.token, status=_describe_status(status))
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return protocol.Reaped(token=request.token, status=None)

    def kill_users(self, request: protocol.KillUsers) -> protocol.UsersKilled:
        return protocol.UsersKilled(killed=[uid for uid in request.uids if _kill_user(uid)])

    def answer(self, line: str) -> protocol.Frame:
        """The answer to one line of the judge's."""
        try:
            request = protocol.parse_line(protocol.ZygoteRequest, line, "the zygote's request")
        except protocol.ProtocolError as error:
            return protocol.ZygoteRefusal(error=str(error))
        if isinstance(request, protocol.Spawn):
            answer: protocol.Frame = self.spawn(request)
        elif isinstance(request, protocol.Reap):
            answer = self.reap(request)
        else:
            answer = self.kill_users(request)
        # Reap any other worker that ended, so that none lingers as a zombie.
        for token, pid in list(self.children.items()):
            if token != getattr(request, "token", None) and os.waitpid(pid, os.WNOHANG)[0]:
                self.children.pop(token)
        return answer


def zygote(preload: list[str]) -> None:
    """Import ``preload`` once, then fork a worker per ``spawn`` request read from stdin."""
    # The zygote's own output is the judge's control channel: keep libraries off it.
    control_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.dont_write_bytecode = True
    started = time.monotonic()
    for module in preload:
        __import__(module)
    # The catalogue of the students' messages read once, before forking (if it cannot be, each
    # worker tries again when it has something to say).
    with contextlib.suppress(Exception):
        _.translate("")
    prctl(PR_SET_DUMPABLE, 0)  # workers cannot read or trace the zygote
    seccomp.leave_session_keyring()  # no worker ever holds the judge's keys
    state = Zygote(control_out)
    control_out.write(
        protocol.control_line(protocol.ZygoteReady(import_s=round(time.monotonic() - started, 2)))
    )
    for line in sys.stdin:
        control_out.write(protocol.control_line(state.answer(line)))
