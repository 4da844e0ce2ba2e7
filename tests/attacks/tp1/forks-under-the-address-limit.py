"""Forks children that each fill memory just under the worker's address-space limit: together far over it.

victim: next
limit: memory
proof: ATTACK forks-under-the-address-limit: ran
"""

import os
import resource
import time

print("ATTACK forks-under-the-address-limit: ran", flush=True)
limit, _hard = resource.getrlimit(resource.RLIMIT_AS)
with open("/proc/self/status") as status:
    mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
room = 2**32 if limit == resource.RLIM_INFINITY else limit - mapped
each = max(room - 2**28, 2**28)  # what each child may still map, less a margin
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            hoard = bytearray(each)
            hoard[::4096] = b"\x01" * len(range(0, each, 4096))  # every page touched
            time.sleep(1)
        except MemoryError:
            pass
        finally:
            os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
