"""``python -m tpdl.judge.worker zygote [MODULE ...]``: the program the sandbox's jail runs."""

import sys

from tpdl.judge.worker.zygote import zygote

if len(sys.argv) >= 2 and sys.argv[1] == "zygote":
    zygote([m for m in sys.argv[2:] if m])
else:
    sys.exit("usage: python -m tpdl.judge.worker zygote [MODULE ...]")
