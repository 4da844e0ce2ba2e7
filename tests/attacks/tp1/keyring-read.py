"""Reads the keys of the judge's session keyring (every process the judge starts inherits it, across
a change of user), revokes them, and leaves a key in its own user's keyring for the next student
given that user.

proof: ATTACK keyring-read: every keyring call refused
"""

import ctypes
import errno

libc = ctypes.CDLL(None, use_errno=True)
ADD_KEY, REQUEST_KEY, KEYCTL = 248, 249, 250  # x86-64
SESSION, USER = -3, -4
buffer = ctypes.create_string_buffer(4096)
attempts = {
    "session keyring": (KEYCTL, 0, SESSION, 0),  # KEYCTL_GET_KEYRING_ID
    "its keys": (KEYCTL, 11, SESSION, buffer, 4096),  # KEYCTL_READ
    "revoke it": (KEYCTL, 3, SESSION),  # KEYCTL_REVOKE
    "a key left behind": (ADD_KEY, b"user", b"left-for-the-next", b"secret", 6, USER),
    "the judge's key": (REQUEST_KEY, b"user", b"tpdl", None, 0),
}
answers = {}
for what, (number, *args) in attempts.items():
    done = libc.syscall(number, *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    answers[what] = "done" if done >= 0 else errno.errorcode[ctypes.get_errno()]
if set(answers.values()) == {"EPERM"}:
    print("ATTACK keyring-read: every keyring call refused", flush=True)
else:
    print("ATTACK keyring-read: got through", answers, flush=True)
