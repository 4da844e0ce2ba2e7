"""Fills the jail's /dev/shm and /tmp, then its own folder and TMPDIR, until not one byte fits.

victim: next
limit: scratch
proof: ATTACK scratch-filler: ran
"""

import os

block = b"\0" * 2**24
for folder in ("/dev/shm", "/tmp", os.environ.get("TMPDIR", "."), "."):
    for number in range(10**4):
        try:
            with open(os.path.join(folder, f"filler-{number}"), "wb") as handle:
                for _ in range(12):  # 192 MiB a file: under the limit on one file's size
                    handle.write(block)
        except OSError as error:
            print(f"{folder}: {error.strerror}", flush=True)
            break
print("ATTACK scratch-filler: ran", flush=True)
