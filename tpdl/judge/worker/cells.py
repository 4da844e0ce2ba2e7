"""The ``cells`` worker: runs a plain nbgrader notebook cell by cell, as a Jupyter kernel would.

The kernel's side lives in ``tpdl.judge.cells``; this worker answers each ``protocol.RunCell`` with
the cell's outputs.
"""

import socket

from tpdl.judge import cells, protocol
from tpdl.judge.worker.common import send_ready, serve


def cells_worker(sock: socket.socket, spawn: protocol.Spawn) -> None:
    run_cell = cells.start()
    send_ready(sock, protocol.Ready())
    serve(sock, "cells", {protocol.RunCell: run_cell})
