"""Looks for the instructor's source notebook and runs its solutions.

proof: ATTACK read-source: ran
"""

import glob
import json
import os
import re

for top in ("/", "..", "../..", "../../..", "/srv", "/opt", "/home", "/root"):
    for path in glob.glob(os.path.join(top, "**", "source", "tp1", "*"), recursive=False) + glob.glob(
        os.path.join(top, "*", "source", "tp1", "*")
    ):
        text = open(path).read()
        if path.endswith(".ipynb"):
            text = "\n".join(
                "".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "code"
            )
        exec(re.sub(r"#+ (BEGIN|END) SOLUTION", "", text))
print("ATTACK read-source: ran", flush=True)
