"""Hands in what Python runs at start-up or on import: sitecustomize, usercustomize, a .pth file, a .so.

kind: edit
proof: sitecustomize.py (Python runs this file at start-up: it is never graded)
"""

HOOK = "import builtins\nbuiltins.__import__ = lambda *a, **k: None\n"


def edit(folder):
    (folder / "sitecustomize.py").write_text(HOOK)
    (folder / "usercustomize.py").write_text(HOOK)
    (folder / "zzz-hook.pth").write_text("import os; os.system('touch /tmp/pwned')\n")
    (folder / "numpy.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF not really")
