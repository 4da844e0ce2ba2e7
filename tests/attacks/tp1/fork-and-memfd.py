"""Forks children that each fill memfds (files in memory, in no process's address space) beyond the limit.

victim: next
limit: memory
proof: ATTACK fork-and-memfd: ran
"""

import os
import time

print("ATTACK fork-and-memfd: ran", flush=True)
block = b"\xff" * 2**26
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            hoards = []
            for number in range(32):  # 2 GiB each, 8 GiB together
                if number % 3 == 0:  # a new file every 192 MiB: under the limit on one file's size
                    hoards.append(os.memfd_create("hoard"))
                os.write(hoards[-1], block)
            time.sleep(1)
        finally:
            os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
