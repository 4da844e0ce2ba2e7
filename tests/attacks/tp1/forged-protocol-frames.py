"""Writes forged answers straight onto the judge's socket before being asked anything.

proof: ATTACK forged-protocol-frames: sent
"""

import os
import socket
import stat

import tpdl.judge.wire

for fd in range(3, 64):
    try:
        if stat.S_ISSOCK(os.fstat(fd).st_mode):
            channel = socket.socket(fileno=os.dup(fd))
            fake = (np.zeros((37, 784), np.float32), np.zeros((37, 10), np.float32))
            for _ in range(20):
                tpdl.judge.wire.send(channel, {"ok": True, "value": fake})
            channel.sendall(b"\x00\x00\x00\x00\x00\x00\x00\x05{bad}")
            print("ATTACK forged-protocol-frames: sent", flush=True)
    except OSError:
        pass
