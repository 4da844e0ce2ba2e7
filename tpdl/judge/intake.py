"""What is graded of a submission: one scan decides, and the staged copy is all that is read after.

Everything in ``submitted/`` is the students': names, links, sizes and contents are hostile. Before
anything else reads a submission (its fingerprint, the copy the workers get, the graders), one
iterative walk, without recursion and without following a single link, copies what will be graded
into a folder of the judge's (the *staged copy*):

* only regular files and folders are taken; symbolic links, devices, pipes and sockets are
  dropped, and a student folder or assignment folder that is itself a link is refused;
* what Python would import or run instead of the visible sources is dropped: ``__pycache__/``,
  compiled files (``*.pyc``, ``*.pyo``), compiled extensions (``*.so``, ``*.pyd``), path hooks
  (``*.pth``), ``sitecustomize.py`` and ``usercustomize.py``, and a package folder that would
  shadow a module of the same name (``app/`` beside ``app.py``); notebooks' checkpoints too;
* a file larger than ``IntakeLimits.file_bytes`` is dropped; a tree deeper than
  ``IntakeLimits.depth``, or holding more than ``IntakeLimits.files`` entries or
  ``IntakeLimits.total_bytes`` bytes in all, is refused as a whole.

Each folder and file is opened relative to its folder's descriptor with ``O_NOFOLLOW``, so that
nothing swapped in during the walk is followed; the digest of what was staged (names, sizes,
contents) comes out of the same pass. That walk, :func:`copy_tree`, is also how ``nbgrader collect``
copies a submission out of the exchange (:class:`tpdl.classroom.nbgrader_ext.SafeCollect`, with nbgrader's
rules). Student ids are checked here too (:data:`STUDENT_ID`).
"""

import hashlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tpdl.core.i18n import KIT as _

# A student id: 1 to 64 ASCII letters, digits, '.', '_' or '-', starting with a letter or a digit.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
STUDENT_ID_RULE = (
    "1 to 64 characters among ASCII letters, digits, '.', '_' and '-', starting with a letter or a digit"
)
BYTECODE_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".pth")
IMPORT_HOOKS = ("sitecustomize.py", "usercustomize.py")
NEVER_GRADED = ("__pycache__", ".ipynb_checkpoints")
COPY_CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def shown(name: str) -> str:
    """A file name as it can be shown anywhere: odd bytes and control characters escaped."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def check_student_id(name: str) -> str | None:
    """None if ``name`` is a valid student id, else why not (for the instructor)."""
    if STUDENT_ID.fullmatch(name) and ".." not in name:
        return None
    return f"the folder name {shown(name)!r} is not a student id ({STUDENT_ID_RULE})"


class Refused(Exception):
    """The submission as a whole cannot be graded; the message says why, for the student."""


class Listing(Protocol):
    """A folder's listing as ``os.scandir`` gives it: its entries one by one, then closed."""

    def __next__(self) -> os.DirEntry[str]: ...

    def close(self) -> None: ...


@dataclass
class Staged:
    """A submission as the judge will grade it (or a tree :func:`copy_tree` copied): its copy,
    digest and what was left out."""

    folder: Path  # the staged copy: regular files and folders of the judge's only
    digest: str = ""
    files: int = 0
    bytes: int = 0
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, why)
    refused: str | None = None
    entries: list[tuple[str, int, str]] = field(default_factory=list)  # (relative path, size, sha256) copied
    changed: float = 0.0  # the latest inode change time over what was copied (see copy_tree)

    def note(self) -> str:
        """What the student should know about the intake, in a sentence or two ("" when nothing)."""
        if self.refused:
            return _("Your submission was not graded: {why}", why=self.refused)
        if not self.dropped:
            return ""
        items = "; ".join(f"{path} ({why})" for path, why in self.dropped[:10])
        if len(self.dropped) > 10:
            return _(
                "Left out of grading: {items}; and {more} more.", items=items, more=len(self.dropped) - 10
            )
        return _("Left out of grading: {items}.", items=items)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class Listed:
    """An entry the walk found: its name, its path from the top, and the descriptor of its folder."""

    name: str
    path: str
    is_dir: bool
    folder_fd: int


@dataclass(frozen=True)
class Rules:
    """What :func:`copy_tree` takes of a tree, and the modes of its copy."""

    depth: int  # folders within folders (a deeper tree is refused)
    entries: int  # files and folders in all (more is refused)
    total_bytes: int  # bytes of the files copied, together (more is refused)
    file_bytes: int  # bytes of one file (a larger one is left out)
    left_out: Callable[[Listed], str | None]  # why a regular file or folder is left out, or None
    mode: Callable[[int, bool], int]  # the copy's mode, from the source's mode and whether it is a folder


def _why_dropped(entry: Listed) -> str | None:
    name = entry.name
    if name in NEVER_GRADED:
        return (
            _("bytecode is never graded")
            if name == "__pycache__"
            else _("notebook checkpoints are not graded")
        )
    if entry.is_dir:
        try:
            os.stat(f"{name}.py", dir_fd=entry.folder_fd, follow_symlinks=False)
        except OSError:
            return None
        return _("a package folder would be imported instead of {file}", file=f"{name}.py")
    if name.endswith(BYTECODE_SUFFIXES):
        return _("compiled code and import hooks are never graded: only sources are")
    if name in IMPORT_HOOKS:
        return _("Python runs this file at start-up: it is never graded")
    return None


def _graded_mode(_mode: int, is_dir: bool) -> int:
    """The staged copy is the judge's: folders 0755, files 0644."""
    return 0o755 if is_dir else 0o644


def open_folder(parent_fd: int | None, name: str | os.PathLike) -> int:
    """A descriptor of the folder ``name`` (relative to ``parent_fd``), refusing a link or a non-folder."""
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    if not stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotADirectoryError(name)
    return fd


def _take(fd: int, name: str, relative: str, depth: int, rules: Rules, staged: "Staged") -> int | None:
    """Copy one entry of the folder open as ``fd``, or note why not; a folder's descriptor, to enter."""
    path = f"{relative}{name}"
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        staged.dropped.append((shown(path), _("it changed or vanished while it was read")))
        return None
    is_dir = stat.S_ISDIR(info.st_mode)
    if not is_dir and not stat.S_ISREG(info.st_mode):
        not_regular = (
            _("a link: only regular files are graded")
            if stat.S_ISLNK(info.st_mode)
            else _("not a regular file: only regular files are graded")
        )
        staged.dropped.append((shown(path), not_regular))
        return None
    why = rules.left_out(Listed(name, path, is_dir, fd))
    if why:
        staged.dropped.append((shown(path + ("/" if is_dir else "")), why))
        return None
    if is_dir:
        if depth + 1 > rules.depth:
            raise Refused(_("its folders are nested more than {depth} deep", depth=rules.depth))
        folder_fd = open_folder(fd, name)
        try:
            (staged.folder / path).mkdir(mode=0o700)
            os.chmod(staged.folder / path, rules.mode(os.fstat(folder_fd).st_mode, True))
        except BaseException:
            os.close(folder_fd)
            raise
        return folder_fd
    if info.st_size > rules.file_bytes:
        staged.dropped.append(
            (
                shown(path),
                _(
                    "{size:,} bytes: files over {limit:,} are not graded",
                    size=info.st_size,
                    limit=rules.file_bytes,
                ),
            )
        )
        return None
    copied = _copy_file(fd, name, staged.folder / path, rules)
    if copied is None:
        staged.dropped.append((shown(path), _("it changed or vanished while it was read")))
        return None
    size, digest, changed = copied
    staged.files += 1
    staged.bytes += size
    staged.changed = max(staged.changed, changed)
    if staged.bytes > rules.total_bytes:
        raise Refused(_("it holds more than {limit:,} bytes", limit=rules.total_bytes))
    staged.entries.append((path, size, digest))
    return None


def copy_tree(source_fd: int, target: Path, rules: Rules) -> "Staged":
    """Copy what ``rules`` take of the folder open as ``source_fd`` into ``target`` (created here).

    Depth first, without recursion and without following a single link: each folder is opened
    relative to its parent's descriptor with ``O_NOFOLLOW`` (one open per level, so the depth limit
    bounds the descriptors held), each file likewise and copied only if it is a regular file once
    open. ``changed`` is the latest inode change time over what was copied, each read after its
    copy: a file's once read, a folder's once listed. A refused copy is removed (``target`` too).
    """
    staged = Staged(Path(target))
    target.mkdir(mode=0o700)
    os.chmod(target, rules.mode(os.fstat(source_fd).st_mode, True))
    levels: list[tuple[int, Listing, str, int]] = []  # (descriptor, listing, path, depth)
    seen = 0
    try:
        levels.append(_listed(os.dup(source_fd), "", 0))
        while levels:
            fd, listing, relative, depth = levels[-1]
            entry = next(listing, None)  # read entry by entry: a huge folder stops at the limit
            if entry is None:
                staged.changed = max(staged.changed, os.fstat(fd).st_ctime)
                levels.pop()
                listing.close()
                os.close(fd)
                continue
            seen += 1
            if seen > rules.entries:
                raise Refused(_("it holds more than {limit:,} files and folders", limit=rules.entries))
            try:
                folder_fd = _take(fd, entry.name, relative, depth, rules, staged)
            except OSError as error:
                where = f"{shown(relative + entry.name)}: {error.strerror or type(error).__name__}"
                raise Refused(_("it could not be read ({error})", error=where)) from error
            if folder_fd is not None:
                levels.append(_listed(folder_fd, f"{relative}{entry.name}/", depth + 1))
    except Refused as refusal:
        staged.refused = str(refusal)
    except OSError as error:
        staged.refused = _("it could not be read ({error})", error=error.strerror or type(error).__name__)
    finally:
        for fd, listing, _relative, _depth in levels:
            listing.close()
            os.close(fd)
    staged.dropped.sort()
    if staged.refused:
        shutil.rmtree(staged.folder, ignore_errors=True)
        staged.files = staged.bytes = 0
        staged.entries = []
    return staged


def _listed(fd: int, relative: str, depth: int) -> tuple[int, Listing, str, int]:
    """A folder to walk: its descriptor (closed here if it cannot be listed) and its listing."""
    try:
        return fd, os.scandir(fd), relative, depth
    except BaseException:
        os.close(fd)
        raise


@dataclass(frozen=True)
class IntakeLimits:
    """What one submission may hold to be staged (a real TP holds a few dozen files and some
    megabytes: TP1's reference, with its MLflow runs, 22 files and 5.3 MB)."""

    files: int = 2000  # files and folders in one submission
    total_bytes: int = 512 * 2**20  # bytes of all its files together
    file_bytes: int = 256 * 2**20  # bytes of one file (larger ones are left out)
    depth: int = 12  # folders within folders


def stage(source_fd: int, target: Path, limits: IntakeLimits) -> Staged:
    """Copy what will be graded of the folder open as ``source_fd`` into ``target`` (created here;
    empty if the submission is refused)."""
    rules = Rules(
        depth=limits.depth,
        entries=limits.files,
        total_bytes=limits.total_bytes,
        file_bytes=limits.file_bytes,
        left_out=_why_dropped,
        mode=_graded_mode,
    )
    staged = copy_tree(source_fd, target, rules)
    if staged.refused:
        staged.folder.mkdir(mode=0o755)
    digest = hashlib.sha256()
    for path, size, file_digest in sorted(staged.entries):
        name = os.fsencode(path)
        digest.update(
            len(name).to_bytes(8, "big") + name + size.to_bytes(8, "big") + bytes.fromhex(file_digest)
        )
    digest.update(f"refused:{staged.refused}".encode())
    staged.digest = digest.hexdigest()
    return staged


def _copy_file(folder_fd: int, name: str, target: Path, rules: Rules) -> tuple[int, str, float] | None:
    """Copy one regular file (opened without following links): its size, digest and change time read
    once it is copied; None if it turned out not to be a regular file or to grow past the rules'
    limit while it was read."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=folder_fd)
    except OSError:
        return None
    digest, size = hashlib.sha256(), 0
    with os.fdopen(fd, "rb") as source:
        info = os.fstat(source.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None
        with open(target, "xb") as copy:
            while block := source.read(COPY_CHUNK):
                size += len(block)
                if size > rules.file_bytes:
                    break
                digest.update(block)
                copy.write(block)
        changed = os.fstat(source.fileno()).st_ctime
    if size > rules.file_bytes:
        target.unlink()
        return None
    os.chmod(target, rules.mode(info.st_mode, False))
    return size, digest.hexdigest(), changed


@dataclass
class Found:
    """The submissions of a class folder: valid ids and their folders, and what was refused."""

    folders: dict[str, Path | None] = field(default_factory=dict)  # None: named but not submitted
    refused: dict[str, str] = field(default_factory=dict)  # shown name -> why


def _open_root(submissions: Path) -> int:
    """The class folder itself is the instructor's: it may be a link (to a mounted share, say)."""
    return os.open(submissions, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def discover(assignment: str, submissions: Path, students: list[str] | None = None) -> Found:
    """Every ``submissions/<id>/<assignment>/`` folder (only those of ``students`` if given); ids
    checked against :data:`STUDENT_ID`, links refused."""
    found = Found()
    wanted = None
    if students is not None:
        wanted = set()
        for name in students:
            why = check_student_id(name)
            if why:
                found.refused[shown(name)] = why
            else:
                wanted.add(name)
    root = _open_root(submissions)
    try:
        for name in sorted(os.listdir(root)):
            if (wanted is not None and name not in wanted) or name.startswith("."):
                continue
            info = os.stat(name, dir_fd=root, follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                found.refused[shown(name)] = "the student folder is a link: it is not graded"
                continue
            if not stat.S_ISDIR(info.st_mode):
                continue
            why = check_student_id(name)
            if why:
                found.refused[shown(name)] = why
                continue
            student_fd = open_folder(root, name)
            try:
                inner = os.stat(assignment, dir_fd=student_fd, follow_symlinks=False)
            except FileNotFoundError:
                inner = None
            finally:
                os.close(student_fd)
            if inner is not None and stat.S_ISLNK(inner.st_mode):
                found.refused[name] = f"{assignment}/ is a link: it is not graded"
            elif inner is not None and stat.S_ISDIR(inner.st_mode):
                found.folders[name] = submissions / name / assignment
    finally:
        os.close(root)
    for name in sorted(wanted or ()):
        if name not in found.folders and name not in found.refused:
            found.folders[name] = None
    return found


def stage_submission(
    submissions: Path, student: str, assignment: str, limits: IntakeLimits, into: Path | None = None
) -> Staged:
    """Stage ``submissions/<student>/<assignment>/`` (no link followed on the way) into a fresh folder."""
    target = Path(tempfile.mkdtemp(prefix="tpdl-intake-", dir=into)) / assignment
    try:
        root = _open_root(submissions)
        try:
            student_fd = open_folder(root, student)
            try:
                folder_fd = open_folder(student_fd, assignment)
            finally:
                os.close(student_fd)
        finally:
            os.close(root)
    except OSError:
        target.mkdir(mode=0o755)
        return Staged(
            target, refused=_("{folder} is a link or not a folder: it is not graded", folder=f"{assignment}/")
        )
    try:
        return stage(folder_fd, target, limits)
    finally:
        os.close(folder_fd)
