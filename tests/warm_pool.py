"""A warm pool (``tpdl pool``) that a test starts and stops: see ``tpdl.judge.pool``."""

import contextlib
import os
import subprocess
import sys
from pathlib import Path


@contextlib.contextmanager
def serving(runtime: Path, idle_s: int = 60, env: dict | None = None):
    """``tpdl pool`` listening in ``runtime`` (its ``XDG_RUNTIME_DIR``) until the block ends, once it
    said it is ready; the server's process, whose standard output the test may read."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tpdl.cli", "pool", "--idle", str(idle_s)],
        env={**(env or os.environ), "XDG_RUNTIME_DIR": str(runtime)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "warm pool ready" in server.stdout.readline()
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)
