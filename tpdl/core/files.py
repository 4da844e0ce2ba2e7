"""Files written whole or not at all: a run killed at any instant (``kill -9``, a power cut) leaves
either the old file or the new one, never a part of either."""

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Replace ``path`` by a file holding ``data`` (text as UTF-8) with permissions ``mode``.

    The data goes to a temporary file of the same folder (private until renamed), reaches the
    disk (``fsync``), replaces ``path`` in one rename, and the folder's new entry is synced too.
    A read-only ``path`` is replaced all the same: only its folder must be writable.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fchmod(file.fileno(), mode)
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Make the names created, renamed or removed in ``folder`` durable."""
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
