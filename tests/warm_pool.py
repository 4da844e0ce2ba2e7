"""A warm pool (``tpdl pool``) that a test starts and stops: see ``tpdl.judge.pool``."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tpdl.judge.worker.common import PR_SET_PDEATHSIG, prctl


def _die_with_the_test_process() -> None:
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def serving(runtime: Path, idle_s: int = 60, env: dict | None = None):
    """``tpdl pool`` listening in ``runtime`` (its ``XDG_RUNTIME_DIR``) until the block ends, once it
    said it is ready; the server's process, whose standard output the test may read. The pool stops
    with the block, or with the test process if that is killed first."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tpdl.cli", "pool", "--idle", str(idle_s)],
        env={**(env or os.environ), "XDG_RUNTIME_DIR": str(runtime)},
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=_die_with_the_test_process,
    )
    try:
        assert "warm pool ready" in server.stdout.readline()
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


class SharedPool:
    """One warm pool per test process, for the class runs that grade with it (``tpdl grade`` finds
    it through ``XDG_RUNTIME_DIR``) rather than test how a jail starts: they share its zygote instead
    of each importing TensorFlow in a jail of its own. Started when a run first needs it, started
    again if it left (idle), stopped with the test session. Its folder is not under pytest's base
    folder, which a test run started beside this one may clean away."""

    IDLE_S = 900

    def __init__(self):
        self.runtime = Path(tempfile.mkdtemp(prefix="tpdl-pool-test-"))
        self._servers = contextlib.ExitStack()
        self._server: subprocess.Popen | None = None

    @contextlib.contextmanager
    def used(self):
        """The block's class runs (in this process or the commands it starts) grade in the pool."""
        if self._server is None or self._server.poll() is not None:
            self._server = self._servers.enter_context(serving(self.runtime, idle_s=self.IDLE_S))
            # Its line per run is read and dropped, so that the pipe never fills and stops it.
            threading.Thread(target=self._server.stdout.read, daemon=True).start()
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("XDG_RUNTIME_DIR", str(self.runtime))
            yield self.runtime

    def close(self) -> None:
        self._servers.close()
        shutil.rmtree(self.runtime, ignore_errors=True)
