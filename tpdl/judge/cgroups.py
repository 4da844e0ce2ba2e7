"""A worker's memory and processes, counted and bounded by the kernel: one control group per worker.

A worker and everything it forks share one group, whose memory counts every page they hold
(anonymous memory, page cache, tmpfs and memfd files), with no swap, and whose process count is
bounded. :func:`detect` finds what this machine offers, in this order:

* **cgroup v2** where our own group delegates ``memory`` and ``pids`` to the groups we make (a
  container's root group, a ``systemd-run --scope -p Delegate=yes`` scope: a judge alone in its
  group moves into a leaf of its own, ``tpdl-judge``, so that the group may hand its controllers
  down);
* **cgroup v1**, where the ``memory`` hierarchy (and, if writable, ``pids``) lets us make groups
  under our own (its TCP buffers, which v1 counts apart, bounded on their own);
* else **the judge's watch** (:class:`Watchdog`): a thread of the judge sums the memory of each
  worker's processes from ``/proc`` and kills the worker at its limit. ``TPDL_CGROUPS=off`` chooses
  it on any machine.

Every backend makes groups the same way: :meth:`Hierarchy.parent` once per sandbox, then
:meth:`Parent.group` per worker, whose :class:`Group` takes the worker's process (:meth:`Group.add`)
before it runs anything of the student's, tells what it held (:meth:`Group.usage`), kills every
member (:meth:`Group.kill`) and goes (:meth:`Group.remove`).
"""

import contextlib
import errno
import functools
import os
import re
import secrets
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ENV = "TPDL_CGROUPS"  # "off": no control group, the judge watches the workers itself
PREFIX = "tpdl-"  # the groups a sandbox makes: tpdl-<pid of its judge>-<random>
JUDGE_LEAF = "tpdl-judge"  # on cgroup v2, where a judge alone in its delegated group moves itself
KILL_ROUNDS = 200  # rounds of SIGKILL to every member, for members forked while the last round ran
WATCH_PERIOD_S = 0.2
# cgroup v1 counts a group's TCP buffers on their own, and bounds them only when told to (cgroup v2
# counts them in the group's memory). Loopback HTTP between two workers needs a few MiB.
TCP_BUFFER_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Usage:
    """What a group's processes held at most, and which limits they met."""

    peak_bytes: int | None  # the most memory the group held (None where the kernel does not say)
    oom_kills: int  # processes killed at the memory limit
    forks_refused: int  # forks refused at the process limit


class Group:
    """One worker's control group (in one hierarchy, or two for cgroup v1's memory and pids)."""

    def __init__(self, folders: list[Path]):
        self.folders = folders

    def add(self, pid: int) -> None:
        """Move the process ``pid`` (a worker not yet running anything of the student's) into the group."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))

    def members(self) -> set[int]:
        found: set[int] = set()
        for folder in self.folders:
            with contextlib.suppress(OSError):
                found |= {int(pid) for pid in (folder / "cgroup.procs").read_text().split()}
        return found

    def kill(self) -> None:
        """``SIGKILL`` every member until none is left (a member may fork while a round runs)."""
        for _round in range(KILL_ROUNDS):
            members = self.members()
            if not members:
                return
            for pid in members:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.002)

    def usage(self) -> Usage:
        raise NotImplementedError

    def remove(self) -> None:
        """Kill what is left and remove the group (its memory charges go to the parent)."""
        self.kill()
        for folder in self.folders:
            _rmdir(folder)


def _rmdir(folder: Path, attempts: int = 100) -> None:
    """Remove a group folder, waiting a little for members that are still exiting."""
    for _attempt in range(attempts):
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as error:
            if error.errno != errno.EBUSY:
                return
            time.sleep(0.01)


def _counter(path: Path, name: str) -> int:
    """The value of ``name`` in a flat-keyed file (``memory.events``, ``pids.events``), 0 if absent."""
    with contextlib.suppress(OSError, ValueError):
        for line in path.read_text().splitlines():
            key, _sep, value = line.partition(" ")
            if key == name:
                return int(value)
    return 0


def _number(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text().split()[0])
    return None


class V1Group(Group):
    """A group in cgroup v1's ``memory`` hierarchy, and in ``pids`` where it is writable."""

    def __init__(self, memory: Path, pids: Path | None):
        super().__init__([memory] + ([pids] if pids else []))
        self.memory, self.pids = memory, pids

    def limit(self, memory_bytes: int, processes: int) -> None:
        (self.memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
        swap = self.memory / "memory.memsw.limit_in_bytes"
        if swap.exists():  # memory and swap together: no swap beyond the memory limit
            swap.write_text(str(memory_bytes))
        else:
            with contextlib.suppress(OSError):
                (self.memory / "memory.swappiness").write_text("0")
        tcp = self.memory / "memory.kmem.tcp.limit_in_bytes"
        if tcp.exists():  # counted apart from memory.limit_in_bytes, and only once bounded
            tcp.write_text(str(min(TCP_BUFFER_BYTES, memory_bytes)))
        if self.pids:
            (self.pids / "pids.max").write_text(str(processes))

    def usage(self) -> Usage:
        return Usage(
            peak_bytes=_number(self.memory / "memory.max_usage_in_bytes"),
            oom_kills=_counter(self.memory / "memory.oom_control", "oom_kill"),
            forks_refused=_counter(self.pids / "pids.events", "max") if self.pids else 0,
        )


class V2Group(Group):
    """A group of cgroup v2's unified hierarchy."""

    def __init__(self, folder: Path):
        super().__init__([folder])
        self.folder = folder

    def limit(self, memory_bytes: int, processes: int) -> None:
        (self.folder / "memory.max").write_text(str(memory_bytes))
        for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
            if (self.folder / name).exists():
                (self.folder / name).write_text(value)
        (self.folder / "pids.max").write_text(str(processes))

    def kill(self) -> None:
        kill_file = self.folder / "cgroup.kill"  # the kernel kills every member at once (Linux 5.14)
        if kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        super().kill()

    def usage(self) -> Usage:
        return Usage(
            peak_bytes=_number(self.folder / "memory.peak"),  # Linux 5.19
            oom_kills=_counter(self.folder / "memory.events", "oom_kill"),
            forks_refused=_counter(self.folder / "pids.events", "max"),
        )


@dataclass
class Parent:
    """The group of one sandbox, whose children are its workers' groups."""

    hierarchy: "Hierarchy"
    folders: list[Path]

    def group(self, name: str, memory_bytes: int, processes: int, uid: int | None = None) -> Group:
        """A new group ``name`` for one worker, with its limits (``uid``: the worker's own user, if any)."""
        return self.hierarchy.make_group(self, name, memory_bytes, processes, uid)

    def remove(self) -> None:
        """Kill and remove every worker's group left, then this one."""
        self.hierarchy.release(self)
        for folder in self.folders:
            _remove_tree(folder)


def _remove_tree(folder: Path) -> None:
    """Remove a sandbox's group and its workers' groups, killing what runs in them."""
    with contextlib.suppress(OSError):
        for child in folder.iterdir():
            if child.is_dir():
                Group([child]).remove()
    _rmdir(folder)


class Hierarchy:
    """Where this machine lets us make groups, and how."""

    name = ""  # for notices and logs: "cgroup v1", "cgroup v2", "the judge's watch"
    enforced = True  # whether the kernel keeps the limits (not the judge's watch)

    def bases(self) -> list[Path]:
        raise NotImplementedError

    def parent(self) -> Parent:
        """A new group for one sandbox (removing those left by judges that died)."""
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        folders = []
        for base in self.bases():
            _remove_orphans(base)
            folder = base / name
            folder.mkdir()
            folders.append(folder)
        parent = Parent(self, folders)
        try:
            self.prepare(parent)
        except OSError:
            parent.remove()
            raise
        return parent

    def prepare(self, parent: Parent) -> None:
        """Set up a new sandbox's group (on cgroup v2, hand its controllers down)."""

    def release(self, parent: Parent) -> None:
        """Let go of a sandbox's groups before its folders are removed (the judge's watch stops watching)."""

    def make_group(self, parent: Parent, name: str, memory_bytes: int, processes: int, uid) -> Group:
        raise NotImplementedError


def _remove_orphans(base: Path) -> None:
    """Remove the sandbox groups under ``base`` whose judge is no longer running."""
    with contextlib.suppress(OSError):
        for folder in base.iterdir():
            match = re.fullmatch(rf"{PREFIX}(\d+)-[0-9a-f]+", folder.name)
            if match and folder.is_dir() and not Path(f"/proc/{match[1]}").exists():
                _remove_tree(folder)


@dataclass
class V1(Hierarchy):
    """cgroup v1: our own group in the ``memory`` hierarchy and, if writable, in ``pids``."""

    memory: Path
    pids: Path | None
    name = "cgroup v1"

    def bases(self) -> list[Path]:
        return [self.memory] + ([self.pids] if self.pids else [])

    def make_group(self, parent: Parent, name: str, memory_bytes: int, processes: int, uid) -> Group:
        memory = parent.folders[0] / name
        pids = parent.folders[1] / name if self.pids else None
        group = V1Group(memory, pids)
        for folder in group.folders:
            folder.mkdir()
        try:
            group.limit(memory_bytes, processes)
        except OSError:
            group.remove()
            raise
        return group


@dataclass
class V2(Hierarchy):
    """cgroup v2: a group of ours whose children get the ``memory`` and ``pids`` controllers."""

    base: Path
    name = "cgroup v2"

    def bases(self) -> list[Path]:
        return [self.base]

    def prepare(self, parent: Parent) -> None:
        (parent.folders[0] / "cgroup.subtree_control").write_text("+memory +pids")

    def make_group(self, parent: Parent, name: str, memory_bytes: int, processes: int, uid) -> Group:
        group = V2Group(parent.folders[0] / name)
        group.folder.mkdir()
        try:
            group.limit(memory_bytes, processes)
        except OSError:
            group.remove()
            raise
        return group


# --------------------------------------------------------------------------- finding what the machine offers


@dataclass(frozen=True)
class Mount:
    root: str  # the part of the hierarchy mounted
    point: Path
    kind: str  # "cgroup" (v1) or "cgroup2"
    options: frozenset[str]  # for v1: the controllers of the hierarchy


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


def mounts(mountinfo: str) -> list[Mount]:
    """The control-group file systems in a ``/proc/<pid>/mountinfo`` text."""
    found = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        tail = fields[fields.index("-") + 1 :]
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        found.append(
            Mount(_unescape(fields[3]), Path(_unescape(fields[4])), tail[0], frozenset(tail[2].split(",")))
        )
    return found


def memberships(cgroup: str) -> dict[str, str]:
    """Our group per controller from a ``/proc/<pid>/cgroup`` text (``""`` is cgroup v2's line)."""
    found = {}
    for line in cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                found[controller] = parts[2]
    return found


def _folder(mount: Mount, path: str) -> Path | None:
    """Where our group ``path`` lies under ``mount`` (None if the mount does not hold it)."""
    root = mount.root.rstrip("/")
    if path != root and not path.startswith(root + "/"):
        return None
    return mount.point / path[len(root) :].lstrip("/")


def _words(path: Path) -> set[str]:
    with contextlib.suppress(OSError):
        return {word.lstrip("+") for word in path.read_text().split()}
    return set()


def v2_candidate(found: list[Mount], groups: dict[str, str]) -> tuple[Path | None, str]:
    """Our cgroup v2 group if it offers ``memory`` and ``pids`` and we may write to it, else why not."""
    unified = next((m for m in found if m.kind == "cgroup2"), None)
    if unified is None or "" not in groups:
        return None, "no cgroup v2 hierarchy"
    folder = _folder(unified, groups[""])
    if folder is None:
        return None, "our cgroup v2 group is outside the mounted hierarchy"
    if folder.name == JUDGE_LEAF:  # a judge started by another that already moved into the leaf
        folder = folder.parent
    offered = _words(folder / "cgroup.controllers")
    if not {"memory", "pids"} <= offered:
        return (
            None,
            f"cgroup v2 offers {', '.join(sorted(offered)) or 'no controller'} here, not memory and pids",
        )
    if not os.access(folder, os.W_OK):
        return None, "our cgroup v2 group is not writable"
    return folder, ""


def v1_candidate(found: list[Mount], groups: dict[str, str]) -> tuple[Path | None, Path | None, str]:
    """Our groups in cgroup v1's ``memory`` and ``pids`` hierarchies where writable, else why not."""
    located = {}
    for controller in ("memory", "pids"):
        mount = next((m for m in found if m.kind == "cgroup" and controller in m.options), None)
        if mount is not None and controller in groups:
            folder = _folder(mount, groups[controller])
            if folder is not None and os.access(folder, os.W_OK):
                located[controller] = folder
    if "memory" not in located:
        return None, None, "no writable cgroup v1 memory hierarchy"
    return located["memory"], located.get("pids"), ""


def _delegate(folder: Path) -> None:
    """Have ``folder`` hand ``memory`` and ``pids`` to its children; a judge alone in it moves into a leaf."""
    control = folder / "cgroup.subtree_control"
    if {"memory", "pids"} <= _words(control):
        return
    try:
        control.write_text("+memory +pids")
    except OSError as error:
        # A group with processes of its own hands nothing down: a judge alone in it moves out.
        members = (folder / "cgroup.procs").read_text().split()
        if error.errno != errno.EBUSY or members != [str(os.getpid())]:
            raise
        leaf = folder / JUDGE_LEAF
        leaf.mkdir(exist_ok=True)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
        control.write_text("+memory +pids")
    if not {"memory", "pids"} <= _words(control):
        raise OSError(errno.EPERM, f"{control} keeps memory and pids to itself")


def v2_base(found: list[Mount], folder: Path) -> Path:
    """Where the sandboxes' groups go: our own group once it hands ``memory`` and ``pids`` down, else,
    for root, the top of the hierarchy where it hands them down (a group shared with other processes,
    a login session's, cannot)."""
    try:
        _delegate(folder)
        return folder
    except OSError:
        top = next(m.point for m in found if m.kind == "cgroup2")
        if top == folder or not os.access(top, os.W_OK):
            raise
        if not {"memory", "pids"} <= _words(top / "cgroup.subtree_control"):
            raise
        return top


def _works(hierarchy: Hierarchy) -> str:
    """Whether groups can be made and limited here ("" if so, else why not): one is made and removed."""
    try:
        parent = hierarchy.parent()
    except OSError as error:
        return f"{hierarchy.name}: cannot make a group ({error.strerror or error})"
    try:
        parent.group("probe", 2**30, 16).remove()
    except OSError as error:
        return f"{hierarchy.name}: cannot limit a group ({error.strerror or error})"
    finally:
        parent.remove()
    return ""


@functools.lru_cache(maxsize=1)
def _kernel() -> tuple[Hierarchy | None, str]:
    """The hierarchy this machine lets us use, or None and why (cgroup v2 first, then v1)."""
    proc = Path("/proc/self")
    try:
        found, groups = mounts((proc / "mountinfo").read_text()), memberships((proc / "cgroup").read_text())
    except OSError as error:
        return None, f"cannot read our control groups ({error.strerror})"
    reasons = []
    folder, why = v2_candidate(found, groups)
    if folder is not None:
        try:
            hierarchy: Hierarchy = V2(v2_base(found, folder))
            why = _works(hierarchy)
            if not why:
                return hierarchy, ""
        except OSError as error:
            why = (
                f"cgroup v2 does not hand memory and pids down here ({error.strerror or error}); "
                "run the judge in a delegated scope (systemd-run --scope -p Delegate=yes)"
            )
    reasons.append(why)
    memory, pids, why = v1_candidate(found, groups)
    if memory is not None:
        hierarchy = V1(memory, pids)
        why = _works(hierarchy)
        if not why:
            return hierarchy, ""
    reasons.append(why)
    return None, "; ".join(reasons)


def detect() -> tuple[Hierarchy, str]:
    """The hierarchy workers' groups are made in, and, for the judge's watch, why no cgroup can be."""
    if os.environ.get(ENV, "auto").strip().lower() == "off":
        return WATCHDOG, f"{ENV}=off"
    hierarchy, why = _kernel()
    return (hierarchy, "") if hierarchy is not None else (WATCHDOG, why)


# --------------------------------------------------------------------------- the judge's own watch


@dataclass(frozen=True)
class Process:
    session: int
    parent: int
    uid: int


def processes() -> dict[int, Process]:
    """Every process of the machine, as ``/proc`` shows it now (those that ended meanwhile left out)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/status", "rb") as handle:
                status = handle.read()
            uid = int(status[status.index(b"\nUid:") + 5 :].split()[0])
            table[int(entry)] = Process(session=int(fields[3]), parent=int(fields[1]), uid=uid)
    return table


def process_memory(pid: int, seen_files: set) -> int:
    """The bytes process ``pid`` holds: its proportional share of the pages it maps (its resident
    set where that cannot be read), plus the memfd files it holds open, each counted once."""
    held = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith((b"Pss:", b"SwapPss:")):
                    held += int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        with contextlib.suppress(OSError, ValueError, IndexError):
            held = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if not os.readlink(f"/proc/{pid}/fd/{fd}").startswith("/memfd:"):
                    continue
                info = os.stat(f"/proc/{pid}/fd/{fd}")
                if (info.st_dev, info.st_ino) not in seen_files:
                    seen_files.add((info.st_dev, info.st_ino))
                    held += info.st_blocks * 512
    return held


class WatchedGroup(Group):
    """A worker watched by the judge: its processes are those of its session, of its user (where
    it has one of its own) and their descendants."""

    def __init__(self, watchdog: "Watchdog", parent: Parent, memory_bytes: int, uid: int | None):
        super().__init__([])
        self.watchdog, self.parent, self.memory_bytes, self.uid = watchdog, parent, memory_bytes, uid
        self.pid: int | None = None
        self.peak = 0
        self.killed = 0
        self.ended = False  # every process of it ended: its process id may now be another's

    def add(self, pid: int) -> None:
        self.pid = pid
        self.watchdog.watch(self)

    def members(self, table: dict[int, Process] | None = None) -> set[int]:
        if self.pid is None or self.ended:
            return set()
        table = processes() if table is None else table
        members = {
            pid
            for pid, process in table.items()
            if pid == self.pid
            or process.session == self.pid
            or (self.uid is not None and process.uid == self.uid)
        }
        grew = True
        while grew:  # descendants that left the session
            grown = {pid for pid, process in table.items() if process.parent in members} - members
            grew = bool(grown)
            members |= grown
        return members

    def usage(self) -> Usage:
        return Usage(peak_bytes=self.peak, oom_kills=self.killed, forks_refused=0)

    def remove(self) -> None:
        self.watchdog.forget(self)
        self.kill()


class Watchdog(Hierarchy):
    """The judge's watch where no control group can be made: a thread that sums each watched
    worker's memory from ``/proc`` every ``WATCH_PERIOD_S`` and kills a worker at its limit."""

    name = "the judge's watch"
    enforced = False

    def __init__(self) -> None:
        self._watched: set[WatchedGroup] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def parent(self) -> Parent:
        return Parent(self, [])

    def make_group(self, parent: Parent, name: str, memory_bytes: int, processes: int, uid) -> Group:
        return WatchedGroup(self, parent, memory_bytes, uid)

    def release(self, parent: Parent) -> None:
        with self._lock:
            self._watched = {group for group in self._watched if group.parent is not parent}

    def watch(self, group: WatchedGroup) -> None:
        with self._lock:
            self._watched.add(group)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="tpdl-watchdog", daemon=True)
                self._thread.start()

    def forget(self, group: WatchedGroup) -> None:
        with self._lock:
            self._watched.discard(group)

    def check(self, group: WatchedGroup, table: dict[int, Process] | None = None) -> None:
        """Measure one worker; kill it if it holds more than its limit (stop watching it once none
        of its processes is left)."""
        members = group.members(table)
        if not members:
            group.ended = True
            self.forget(group)
            return
        seen: set = set()
        held = sum(process_memory(pid, seen) for pid in members)
        group.peak = max(group.peak, held)
        if held > group.memory_bytes:
            group.killed += 1
            group.kill()

    def _run(self) -> None:
        while True:
            with self._lock:
                watched = list(self._watched)
                if not watched:
                    self._thread = None
                    return
            table = processes()  # one look at /proc for every worker watched
            for group in watched:
                self.check(group, table)
            time.sleep(WATCH_PERIOD_S)


WATCHDOG = Watchdog()
