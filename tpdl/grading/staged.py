"""The submission's staged copy, read by the judge itself: never executed, never followed through a link."""

import hashlib
from pathlib import Path

from tpdl.core.i18n import KIT as _
from tpdl.judge.session import MAX_DELIVERABLE_BYTES, Session, StudentCodeError, read_regular_file


class StagedCopy:
    """The files a grader reads from the staged copy at ``path``."""

    session: Session
    path: Path

    def has_file(self, relative: str) -> bool:
        """Is ``relative`` a plain file of the submission? (The staged copy holds no links.)"""
        parts = relative.split("/")
        if not relative or relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
            return False
        path = self.path / relative
        return path.is_file() and not path.is_symlink()

    def file_digest(self, relative: str) -> str | None:
        """The sha256 of the plain file ``relative`` (None if there is none), read by the judge."""
        if not self.has_file(relative):
            return None
        digest = hashlib.sha256()
        with open(self.path / relative, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def read_file(self, relative: str, max_bytes: int = MAX_DELIVERABLE_BYTES) -> bytes:
        """A deliverable of the submission, read by the judge as bytes (never executed)."""
        if not self.has_file(relative):
            raise StudentCodeError(_("{file} is not in your submission.", file=relative))
        data = read_regular_file(self.path, relative, max_bytes)
        if data is None:
            raise StudentCodeError(_("{file} is larger than {size} bytes.", file=relative, size=max_bytes))
        return data
