"""Reads the environment and other processes' command lines for paths to hidden files.

proof: ATTACK environment-snooping: ran
"""

import glob
import os
import re

texts = [str(dict(os.environ))]
for path in glob.glob("/proc/*/cmdline") + glob.glob("/proc/*/environ"):
    try:
        texts.append(open(path, "rb").read().replace(b"\0", b" ").decode(errors="replace"))
    except OSError:
        pass
for folder in set(re.findall(r"(/[\w./-]+)", " ".join(texts))):
    for candidate in glob.glob(os.path.join(folder, "graders", "*", "*.py")):
        exec(open(candidate).read())
print("ATTACK environment-snooping: ran", flush=True)
