"""Hands in the stub app.py with a compiled working app in __pycache__, stamped as the stub's bytecode.

kind: edit
base: reference
graders: test_app.py
loses: app_health, app_predicts_one_image, app_predicts_a_batch
proof: __pycache__/ (bytecode is never graded)
"""

import importlib.util
import marshal
import os
import shutil

from tpdl.core import paths


def edit(folder):
    working = (folder / "app.py").read_text()
    stub = (paths.release("tp1") / "app.py").read_text()
    (folder / "app.py").write_text(stub)
    info = os.stat(folder / "app.py")
    # The header Python checks before it trusts a .pyc: magic, flags, the source's mtime and size.
    header = importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
    header += int(info.st_mtime).to_bytes(4, "little") + (info.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    cache = folder / "__pycache__"
    cache.mkdir()
    code = compile(working, str(folder / "app.py"), "exec")
    (cache / importlib.util.cache_from_source("app.py").rsplit("/", 1)[-1]).write_bytes(header + marshal.dumps(code))
    shutil.copystat(folder / "app.py", folder / "app.py")
