"""Sends the judge a forged "notebook ready" frame of its own, then cuts the worker off the socket.

place: first
proof: FORGED-RECORD
"""

import os
import socket
import stat

import tpdl.judge.protocol
import tpdl.judge.wire

for fd in range(3, 64):
    try:
        if stat.S_ISSOCK(os.fstat(fd).st_mode):
            channel = socket.socket(fileno=os.dup(fd))
            forged = tpdl.judge.protocol.NotebookReady(ok=True, cells=[
                tpdl.judge.protocol.CellRecord(cell=1, status="error", kind="raised", message="FORGED-RECORD <script>alert(1)</script>")
            ])  # fmt: skip
            tpdl.judge.wire.send(channel, tpdl.judge.protocol.plain(forged))
            os.dup2(os.open(os.devnull, os.O_RDWR), fd)  # the worker's own frames now go nowhere
    except OSError:
        pass
