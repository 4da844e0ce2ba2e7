"""Makes a user namespace of its own (every capability inside it: mounts, network, the kernel's file
systems as an attack surface), by unshare, clone and clone3, and sets up io_uring, a second way into
the kernel that no system-call filter sees.

proof: ATTACK new-namespaces-and-io-uring: refused
"""

import ctypes
import errno
import os

libc = ctypes.CDLL(None, use_errno=True)
CLONE, UNSHARE, IO_URING_SETUP, CLONE3 = 56, 272, 425, 435  # x86-64
CLONE_NEWUSER, CLONE_NEWNS, SIGCHLD = 0x10000000, 0x00020000, 17
clone_args = (ctypes.c_uint64 * 11)(CLONE_NEWUSER | CLONE_NEWNS, 0, 0, 0, SIGCHLD)
attempts = {
    "unshare": (UNSHARE, ctypes.c_long(CLONE_NEWUSER | CLONE_NEWNS)),
    "clone": (CLONE, ctypes.c_long(CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD), None, None, None, ctypes.c_long(0)),
    "clone3": (CLONE3, clone_args, ctypes.c_long(ctypes.sizeof(clone_args))),
    "io_uring": (IO_URING_SETUP, ctypes.c_long(8), ctypes.create_string_buffer(120)),
}
answers = {}
for what, (number, *args) in attempts.items():
    done = libc.syscall(ctypes.c_long(number), *args)
    if done == 0 and what.startswith("clone"):  # the child, in its new namespaces
        os._exit(0)
    answers[what] = "done" if done >= 0 else errno.errorcode[ctypes.get_errno()]
expected = {"unshare": "EPERM", "clone": "EPERM", "clone3": "ENOSYS", "io_uring": "EPERM"}
if answers == expected:
    print("ATTACK new-namespaces-and-io-uring: refused", flush=True)
else:
    print("ATTACK new-namespaces-and-io-uring: got through", answers, flush=True)
