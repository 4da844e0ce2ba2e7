"""The kit's reference runs kept on this machine: a run that every grading asks for alike (TP2's
experiment, whose settings the notebook pins) is made once, not once per grading run.

A run is kept under the digest of its request and of everything else that can change it (the kit's
code, which makes it in a worker of its own, the data at hand and the software:
``tpdl.grading.ingredients``), nothing a student hands in, in a folder of the user's cache that only
the judge's user can enter. Each file is written whole (a temporary file renamed into place) and
read back through ``tpdl.judge.protocol``: a file that does not hold a valid answer is made again.
While one judge process makes a run, the others wait for it instead of making it too.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from tpdl.core import paths
from tpdl.core.files import write_atomically
from tpdl.grading import ingredients
from tpdl.judge import protocol

FOLDER = "reference-runs"
MAX_FILE_BYTES = 2**20  # a run of 100 epochs and a few metrics takes some kilobytes


def folder() -> Path | None:
    """The folder of kept runs, made if needed; None where it is not the judge's user's alone."""
    path = paths.user_cache() / FOLDER
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            return None
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.chmod(path, 0o700)
    except OSError:
        return None
    return path


def key(request_digest: str) -> str:
    """The name a run is kept under: its request's digest with the kit's, the data's and the
    software's. The graders choose what to ask, which the request holds; they take no part in making
    the run (a change to any TP's graders would otherwise make TP2's runs again)."""
    parts = {
        "request": request_digest,
        "kit": ingredients.tree_digest(paths.PACKAGE),
        "data": ingredients.data_at_hand(),
        "software": ingredients.software(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def kept(request_digest: str, make: Callable[[], protocol.History]) -> protocol.History:
    """The run of request ``request_digest`` as this machine keeps it; made by ``make()`` and kept if
    none is (or where runs cannot be kept, made every time)."""
    where = folder()
    if where is None:
        return make()
    path = where / f"{key(request_digest)}.json"
    lock = os.open(where / ".lock", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one judge makes it, the others read it
        run = _read(path)
        if run is None:
            run = make()
            with contextlib.suppress(OSError):  # a full disk, say: the run is made, not kept
                write_atomically(path, json.dumps(run.model_dump()), mode=0o600)  # this user's only
        return run
    finally:
        os.close(lock)


def _read(path: Path) -> protocol.History | None:
    """The run kept at ``path``, if it is a plain file of this user's holding a valid answer."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_size > MAX_FILE_BYTES:
            return None
        with contextlib.suppress(ValueError):
            return protocol.History.model_validate(json.loads(handle.read()))
    return None
