"""Leaves a System V shared memory segment, message queue and semaphore set, and a POSIX message
queue, in the jail's IPC namespace (they outlive the worker: the next student reads them, and their
memory piles up across a class), after looking for what earlier students left there.

victim: next
proof: ATTACK sysv-shm-left-for-the-next-student: refused, and nothing left by others
"""

import ctypes
import errno
import os

libc = ctypes.CDLL(None, use_errno=True)
SHMGET, SEMGET, MSGGET, MQ_OPEN = 29, 64, 68, 240  # x86-64
IPC_CREAT, KEY = 0o1000, 0x7D1
attempts = {
    "segment": (SHMGET, KEY, 256 * 2**20, IPC_CREAT | 0o666),
    "semaphores": (SEMGET, KEY, 4, IPC_CREAT | 0o666),
    "message queue": (MSGGET, KEY, IPC_CREAT | 0o666),
    "POSIX queue": (MQ_OPEN, b"left-for-the-next", os.O_CREAT | os.O_RDWR, 0o666, None),
}
answers = {}
for what, (number, *args) in attempts.items():
    made = libc.syscall(number, *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    answers[what] = "made" if made >= 0 else errno.errorcode[ctypes.get_errno()]
left = [line for kind in ("shm", "sem", "msg") for line in open(f"/proc/sysvipc/{kind}").read().splitlines()[1:]]
if set(answers.values()) == {"EPERM"} and not left:
    print("ATTACK sysv-shm-left-for-the-next-student: refused, and nothing left by others", flush=True)
else:
    print("ATTACK sysv-shm-left-for-the-next-student: got through", answers, left, flush=True)
