"""Each worker's writable tree on a tmpfs of its own, bounded in bytes and in files: never the host's disk.

Where the judge runs as root, a sandbox's spool is made a *shared* mount (:func:`share`) before its
jail starts: bubblewrap's mounts are slaves of the host's, so a tmpfs the judge mounts at
``spool/<token>`` later (:func:`mount`) appears at ``/spool/<token>`` inside the jail, and so does
its unmounting. The judge fills the tmpfs with the worker's copy of the submission, then sizes it
to that copy plus the worker's scratch allowance (:func:`resize`). A tmpfs's pages are charged to
the memory cgroup of the process that first writes them: the copy to the judge, whatever the
worker writes to the worker's group.
"""

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE, MS_SHARED = (
    2,
    4,
    32,
    4096,
    16384,
    1 << 18,
    1 << 20,
)
MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str, target: Path, kind: str | None, flags: int, options: str | None = None) -> None:
    result = _libc.mount(
        source.encode(),
        os.fsencode(target),
        kind.encode() if kind else None,
        ctypes.c_ulong(flags),
        options.encode() if options else None,
    )
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {kind or 'bind'} at {target}: {os.strerror(error)}")


def share(folder: Path) -> None:
    """Make ``folder`` a mount point whose later mounts propagate to the bubblewrap jails that bind it."""
    _mount(str(folder), folder, None, MS_BIND)
    _mount("none", folder, None, MS_PRIVATE)  # a peer group of its own, not the host's
    _mount("none", folder, None, MS_SHARED)


def mount(folder: Path, size_bytes: int, files: int, mode: int = 0o711) -> None:
    """Mount a tmpfs of at most ``size_bytes`` and ``files`` files and folders at ``folder``."""
    _mount(
        "tpdl-scratch",
        folder,
        "tmpfs",
        MS_NOSUID | MS_NODEV,
        f"size={size_bytes},nr_inodes={files},mode={mode:o}",
    )


def resize(folder: Path, size_bytes: int, files: int) -> None:
    """Change the bounds of the tmpfs at ``folder`` (never below what it holds)."""
    _mount(
        "tpdl-scratch",
        folder,
        "tmpfs",
        MS_REMOUNT | MS_NOSUID | MS_NODEV,
        f"size={size_bytes},nr_inodes={files}",
    )


@dataclass(frozen=True)
class Space:
    """What a tmpfs holds and may hold."""

    used_bytes: int
    size_bytes: int
    used_files: int
    files: int

    def __sub__(self, other: "Space") -> "Space":
        """What was added since ``other`` (the same tmpfs earlier)."""
        return Space(
            self.used_bytes - other.used_bytes,
            self.size_bytes - other.used_bytes,
            self.used_files - other.used_files,
            self.files - other.used_files,
        )

    @property
    def full(self) -> bool:
        return self.size_bytes - self.used_bytes < 64 * 1024 or self.used_files >= self.files


def space(folder: Path) -> Space:
    info = os.statvfs(folder)
    return Space(
        (info.f_blocks - info.f_bfree) * info.f_frsize,
        info.f_blocks * info.f_frsize,
        info.f_files - info.f_ffree,
        info.f_files,
    )


def unmount(folder: Path) -> None:
    """Unmount ``folder`` at once (lazily: a process still inside lets go when it dies); no error if
    nothing is mounted there."""
    _libc.umount2(os.fsencode(folder), MNT_DETACH)


def mounted_under(folder: Path) -> list[Path]:
    """The mount points at or under ``folder`` (from ``/proc/self/mountinfo``), deepest first."""
    prefix = os.path.realpath(folder)
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            found.append(Path(point))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def unmount_all(folder: Path) -> None:
    """Unmount everything mounted at or under ``folder``."""
    for point in mounted_under(folder):
        unmount(point)
