"""A warm pool: one jail whose zygote imported TensorFlow once, kept between grading runs.

``tpdl pool`` starts it and serves its control channel on a Unix socket in a private folder;
``tpdl grade`` (one job) and ``tpdl try`` use it when it answers, and start a jail of their own
otherwise. Each client gets the zygote for the length of its run; everything its workers left
running is killed when it hangs up. The pool leaves after ``idle_s`` seconds without a client.
"""

import contextlib
import os
import select
import signal
import socket
import sys
from pathlib import Path

from tpdl.judge import protocol, sandbox

IDLE_S = 900


def address() -> Path:
    """Where the pool listens: a folder only this user can enter."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or Path.home() / ".cache") / f"tpdl-pool-{os.geteuid()}"
    return base / "pool.sock"


def connect(limits: sandbox.Limits) -> sandbox.PooledZygote | None:
    """The warm pool's zygote, or None when no pool answers."""
    try:
        return sandbox.PooledZygote(address(), limits)
    except (OSError, sandbox.SandboxUnavailable):
        return None


def serve(idle_s: float = IDLE_S) -> None:
    path = address()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if path.exists():
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # leave through the finally below
    zygote = sandbox.Zygote().start()
    print(
        f"warm pool ready at {path} (TensorFlow imported in {zygote.import_s} s); idle limit {idle_s:.0f} s",
        flush=True,
    )
    try:
        while select.select([listener], [], [], idle_s)[0]:
            connection, _ = listener.accept()
            if not zygote.alive():
                zygote.close()
                zygote = sandbox.Zygote().start()
            # The stream is closed with the connection: a client that broke the protocol sees the
            # pool hang up at once (the socket stays open while a file made from it is).
            with (
                contextlib.suppress(OSError, ValueError, sandbox.SandboxUnavailable),
                connection,
                connection.makefile("rw", buffering=1) as stream,
            ):
                stream.write(
                    protocol.control_line(
                        protocol.PoolHello(spool=str(zygote.spool), jail_pid=zygote.jail_pid)
                    )
                )
                for line in stream:  # a client's requests, checked here before the zygote sees them
                    request = protocol.parse_line(protocol.ZygoteRequest, line, "the client's request")
                    answer = zygote.control(request, protocol.ZYGOTE_ANSWERS[type(request)])
                    stream.write(protocol.control_line(answer))
            zygote.sweep()
            print("served a grading run", flush=True)
    finally:
        zygote.close()
        path.unlink(missing_ok=True)
