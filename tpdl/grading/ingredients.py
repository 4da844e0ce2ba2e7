"""What the kit's results depend on besides a submission, by digest: the kit's code, the graders, the
data at hand and the software that computes them.

A class run's cache key (``tpdl.classroom.run``) and the reference runs kept on the machine
(``tpdl.grading.reference_runs``) are made of them: changing any of it makes them anew.
"""

import functools
import hashlib
import importlib.metadata
import os
import sys
from pathlib import Path

# The software whose version can change a result (with the Python that runs it).
PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "h5py", "nbgrader", "mlflow", "gunicorn")


def tree_digest(folder: Path) -> str:
    """A hash of every regular file under ``folder`` (names, sizes, contents), bytecode left out."""
    digest = hashlib.sha256()
    if not folder.is_dir():
        return digest.hexdigest()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        name = os.fsencode(path.relative_to(folder))
        digest.update(len(name).to_bytes(8, "big") + name + path.stat().st_size.to_bytes(8, "big"))
        digest.update(file_digest(path).encode())
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """The sha256 of a file, computed once per process for each (size, time, inode) it has had."""
    info = path.stat()
    return _file_digest(path, info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev)


@functools.lru_cache(maxsize=512)
def _file_digest(path: Path, *identity) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_at_hand() -> list[tuple[str, str]]:
    """``(origin, digest)`` of every dataset file the graders read here."""
    from tpdl.course import data

    return [(origin, file_digest(path)) for origin, path in data.files_at_hand()]


def software() -> list[str]:
    """The Python and the versions of :data:`PACKAGES` installed."""
    return [sys.version, *(_version(name) for name in PACKAGES)]


def _version(package: str) -> str:
    try:
        return f"{package}=={importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{package} absent"
