"""Does the kernel hold each worker to its limits: memory (TCP buffers too), processes, scratch space?

The detection of what a machine offers is tested on made-up ``/proc`` and ``/sys`` texts (cgroup v2
among them); the groups, the tmpfs and the judge's watch are tested for real, in a jail whose zygote
preloads nothing (it starts in a second).
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from tpdl.judge import cgroups, sandbox, scratch, seccomp

ROOT = os.geteuid() == 0
KERNEL, WHY = cgroups.detect() if ROOT else (None, "")
needs_root = pytest.mark.skipif(not ROOT, reason="control groups and tmpfs are made by root")
needs_cgroups = pytest.mark.skipif(
    KERNEL is None or not KERNEL.enforced, reason=f"no control group can be made here: {WHY}"
)
MiB = 2**20
LIMITS = sandbox.Limits(
    memory_bytes=256 * MiB,
    address_space_bytes=4 * 2**30,
    processes=32,
    scratch_bytes=8 * MiB,
    scratch_files=200,
    notebook_s=60.0,
    request_s=30.0,
)
HELD = re.compile(
    r"memory at most (\d+) bytes of (\d+) \(([^)]*)\), stopped at the memory limit (\d+) times, "
    r"forks refused (\d+)(?:; scratch (\d+) bytes of (\d+), (\d+) files of (\d+))?"
)
FORK_AND_MEMFD = """
import os, time
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            hoard = os.memfd_create("hoard")
            for _ in range(8):  # 128 MiB each: twice the limit together
                os.write(hoard, b"x" * 2**24)
            time.sleep(1)
        finally:
            os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
"""


# --------------------------------------------------------------------------- what a machine offers


def mountinfo(*lines: str) -> str:
    return "\n".join(f"{30 + i} 1 0:{40 + i} {line}" for i, line in enumerate(lines))


def test_cgroup_v1_groups_are_made_under_our_own_group_of_each_hierarchy(tmp_path):
    (tmp_path / "memory" / "jobs" / "42").mkdir(parents=True)
    (tmp_path / "pids").mkdir()
    found = cgroups.mounts(
        mountinfo(
            f"/ {tmp_path}/memory rw,relatime - cgroup cgroup rw,memory",
            f"/ {tmp_path}/pids rw,relatime - cgroup cgroup rw,pids",
            f"/ {tmp_path}/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct",
            f"/ {tmp_path}/unified rw,relatime - cgroup2 cgroup2 rw",
            f"/ {tmp_path}/data rw,relatime shared:1 - ext4 /dev/vda rw",
        )
    )
    assert [m.kind for m in found] == ["cgroup", "cgroup", "cgroup", "cgroup2"]
    groups = cgroups.memberships("8:pids:/\n4:memory:/jobs/42\n1:cpu,cpuacct:/\n0::/\n")
    assert groups["memory"] == "/jobs/42" and groups["cpuacct"] == "/" and groups[""] == "/"
    memory, pids, why = cgroups.v1_candidate(found, groups)
    assert (memory, pids, why) == (tmp_path / "memory" / "jobs" / "42", tmp_path / "pids", "")


def test_a_hierarchy_mounted_from_inside_our_group_is_read_from_its_root(tmp_path):
    """A container mounts only its own part of the hierarchy: our path is relative to the mount's root."""
    (tmp_path / "memory" / "worker").mkdir(parents=True)
    found = cgroups.mounts(mountinfo(f"/box/7 {tmp_path}/memory rw - cgroup cgroup rw,memory"))
    memory, pids, _why = cgroups.v1_candidate(found, cgroups.memberships("4:memory:/box/7/worker\n"))
    assert memory == tmp_path / "memory" / "worker" and pids is None
    elsewhere = cgroups.memberships("4:memory:/other\n")
    assert cgroups.v1_candidate(found, elsewhere)[0] is None


def unified(tmp_path: Path, controllers: str, path: str = "/jobs/42") -> tuple[list, dict, Path]:
    folder = tmp_path / "unified" / path.strip("/")
    folder.mkdir(parents=True)
    (folder / "cgroup.controllers").write_text(controllers + "\n")
    (folder / "cgroup.subtree_control").write_text("")
    found = cgroups.mounts(mountinfo(f"/ {tmp_path}/unified rw - cgroup2 cgroup2 rw"))
    return found, cgroups.memberships(f"0::{path}\n"), folder


def test_cgroup_v2_is_used_only_where_it_hands_memory_and_pids_down(tmp_path):
    found, groups, _folder = unified(tmp_path, "hugetlb")  # as on machines with v1 controllers
    folder, why = cgroups.v2_candidate(found, groups)
    assert folder is None and "hugetlb" in why and "not memory and pids" in why
    found, groups, expected = unified(tmp_path / "delegated", "cpu io memory pids")
    assert cgroups.v2_candidate(found, groups) == (expected, "")
    cgroups._delegate(expected)
    assert set((expected / "cgroup.subtree_control").read_text().replace("+", "").split()) == {
        "memory",
        "pids",
    }


def test_a_judge_already_in_its_leaf_makes_groups_beside_it(tmp_path):
    found, groups, folder = unified(tmp_path, "memory pids", f"/scope/{cgroups.JUDGE_LEAF}")
    (folder.parent / "cgroup.controllers").write_text("memory pids\n")
    assert cgroups.v2_candidate(found, groups) == (folder.parent, "")


def test_a_group_that_cannot_hand_its_controllers_down_leaves_the_top_of_the_hierarchy(tmp_path):
    """A login session's group holds other processes: root makes the sandboxes' groups at the top."""
    found, groups, folder = unified(tmp_path, "memory pids", "/user.slice/session-3.scope")
    (folder / "cgroup.subtree_control").unlink()
    (folder / "cgroup.subtree_control").mkdir()  # refuses every write, as the kernel refuses one here
    (folder / "cgroup.procs").write_text("1\n2\n")
    with pytest.raises(OSError):
        cgroups._delegate(folder)
    top = tmp_path / "unified"
    (top / "cgroup.subtree_control").write_text("cpu io\n")
    with pytest.raises(OSError):
        cgroups.v2_base(found, folder)  # the top keeps memory and pids to itself too
    (top / "cgroup.subtree_control").write_text("cpu io memory pids\n")
    assert cgroups.v2_base(found, folder) == top


def test_a_cgroup_v2_group_is_limited_and_read_as_the_kernel_writes_it(tmp_path):
    folder = tmp_path / "w"
    folder.mkdir()
    for name in ("memory.swap.max", "memory.oom.group"):
        (folder / name).write_text("max\n")
    group = cgroups.V2Group(folder)
    group.limit(256 * MiB, 32)
    assert (folder / "memory.max").read_text() == str(256 * MiB)
    assert (folder / "memory.swap.max").read_text() == "0" and (folder / "pids.max").read_text() == "32"
    (folder / "memory.peak").write_text(f"{200 * MiB}\n")
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\n")
    (folder / "pids.events").write_text("max 5\n")
    assert group.usage() == cgroups.Usage(peak_bytes=200 * MiB, oom_kills=2, forks_refused=5)


def test_cgroups_off_chooses_the_judges_watch(monkeypatch):
    monkeypatch.setenv(cgroups.ENV, "off")
    hierarchy, why = cgroups.detect()
    assert hierarchy is cgroups.WATCHDOG and not hierarchy.enforced and cgroups.ENV in why
    notice = sandbox.limits_notice()
    assert notice is not None and "\n" not in notice
    assert "no cgroup can be made here" in notice and "watches the workers' memory" in notice


@needs_root
@needs_cgroups
def test_grading_here_needs_no_notice():
    assert seccomp.unavailable() is None, seccomp.unavailable()
    assert sandbox.limits_notice() is None


def test_where_libseccomp_is_missing_grading_says_that_system_calls_are_not_filtered(monkeypatch):
    monkeypatch.setattr(seccomp, "LIBRARY", "libseccomp-absent.so.0")
    seccomp._library.cache_clear()
    try:
        notice = sandbox.limits_notice()
    finally:
        seccomp._library.cache_clear()  # found again once the name is restored
    assert notice is not None
    assert "system calls cannot be filtered here (libseccomp-absent.so.0 is not installed" in notice


# --------------------------------------------------------------------------- the kernel's groups, for real


def run_in(group: cgroups.Group, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a Python placed in ``group`` before it runs anything."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read(1); exec(sys.argv[1])", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    group.add(process.pid)
    out, _err = process.communicate("x", timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out)


@needs_root
@needs_cgroups
def test_a_group_counts_the_memfds_of_every_child_and_stops_them_at_its_limit():
    parent = KERNEL.parent()
    try:
        group = parent.group("memfd", 64 * MiB, 16)
        run_in(group, FORK_AND_MEMFD.replace("range(8)", "range(3)"))  # 48 MiB each, 192 together
        usage = group.usage()
        assert usage.oom_kills >= 1
        assert usage.peak_bytes is not None and 48 * MiB < usage.peak_bytes <= 64 * MiB
        group.remove()
        assert not any(folder.exists() for folder in group.folders)
    finally:
        parent.remove()
    assert not any(folder.exists() for folder in parent.folders)


@needs_root
@needs_cgroups
def test_a_group_refuses_forks_beyond_its_process_limit_and_kills_every_member():
    parent = KERNEL.parent()
    try:
        group = parent.group("forks", 256 * MiB, 8)
        done = run_in(
            group,
            textwrap.dedent("""
            import os, time
            made = 0
            try:
                for made in range(64):
                    if os.fork() == 0:
                        os.setsid()  # out of its parent's session, as a daemon would
                        os.closerange(0, 3)
                        time.sleep(60)
                        os._exit(0)
            except OSError:
                print("refused after", made, flush=True)
        """),
        )
        assert "refused after" in done.stdout
        if KERNEL.name == "cgroup v1" and not KERNEL.pids:
            pytest.skip("no writable pids hierarchy: the process limit is RLIMIT_NPROC alone")
        assert group.usage().forks_refused >= 1
        assert 0 < len(group.members()) <= 8
        group.kill()
        assert group.members() == set()
    finally:
        parent.remove()


TCP_FILL = """
import socket
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(16)
queued, pairs = 0, []
for _ in range(12):  # each end may queue 8 MiB and its peer receive as much: 300 MiB unbounded
    client = socket.create_connection(server.getsockname())
    pairs.append((client, server.accept()[0]))
    for end in pairs[-1]:
        end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 2**20)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 2**20)
        end.setblocking(False)
        try:
            while True:
                queued += end.send(b"x" * 2**16)
        except BlockingIOError:
            pass
print("queued", queued)
"""


@needs_root
@needs_cgroups
def test_a_cgroup_v1_group_bounds_the_tcp_buffers_it_counts_apart(monkeypatch):
    if KERNEL.name != "cgroup v1":
        pytest.skip(f"{KERNEL.name} counts socket buffers in the group's memory")
    monkeypatch.setattr(cgroups, "TCP_BUFFER_BYTES", 16 * MiB)
    parent = KERNEL.parent()
    try:
        group = parent.group("tcp", 256 * MiB, 16)
        queued = int(run_in(group, TCP_FILL).stdout.split()[-1])
        peak = int((group.memory / "memory.kmem.tcp.max_usage_in_bytes").read_text())
    finally:
        parent.remove()
    # the kernel charges past the limit the few buffers a socket must keep (an acknowledgement's)
    assert 8 * MiB < peak <= 17 * MiB and queued <= 16 * MiB, (peak, queued)


# --------------------------------------------------------------------------- tmpfs


def mounted(folder: Path) -> bool:
    return any(
        line.split()[4].startswith(str(folder))
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
    )


@needs_root
def test_a_tmpfs_bounds_bytes_and_files_and_leaves_no_mount(tmp_path):
    folder = tmp_path / "tree"
    folder.mkdir()
    scratch.mount(folder, 8 * MiB, 1000)
    try:
        (folder / "copy").write_bytes(b"c" * MiB)
        given = scratch.space(folder)
        scratch.resize(folder, given.used_bytes + 2 * MiB, given.used_files + 50)
        with pytest.raises(OSError, match="No space left"), open(folder / "big", "wb") as handle:
            for _ in range(3):
                handle.write(b"x" * MiB)
                handle.flush()
        added = scratch.space(folder) - given
        assert added.full and added.used_bytes == added.size_bytes == 2 * MiB
        (folder / "big").unlink()
        with pytest.raises(OSError, match="No space left"):
            for number in range(1000):
                (folder / f"f{number}").touch()
        added = scratch.space(folder) - given
        assert added.full and added.used_files == added.files == 50
    finally:
        scratch.unmount_all(folder)
    assert not mounted(folder)
    assert list(folder.iterdir()) == []  # what was written was in memory, not under the mount point


# --------------------------------------------------------------------------- workers in a jail


def notebook(tmp_path: Path, code: str) -> Path:
    submission = tmp_path / "submission"
    submission.mkdir(exist_ok=True)
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(code)]
    nbformat.write(book, submission / "n.ipynb")
    return submission


def held(worker: sandbox.Worker) -> tuple:
    match = HELD.search(worker.held)
    assert match, f"no figures in {worker.held!r}"
    return tuple(
        None if value is None else (value if not value.isdigit() else int(value)) for value in match.groups()
    )


@pytest.fixture(scope="module")
def limits_jail():
    with sandbox.Zygote(LIMITS, preload=()) as zygote:
        yield zygote
    assert not mounted(zygote.spool), "a mount was left behind"
    assert not zygote.spool.exists()
    assert zygote._parent is None


@needs_root
@needs_cgroups
def test_a_worker_runs_in_its_group_and_its_tree_is_a_bounded_tmpfs_from_the_first_cell(
    limits_jail, tmp_path
):
    submission = notebook(
        tmp_path,
        textwrap.dedent("""
        import os
        print("cgroup:", open("/proc/self/cgroup").read().replace(chr(10), " "), flush=True)
        tree = os.statvfs(".")
        print("tree bytes:", tree.f_blocks * tree.f_frsize, "files:", tree.f_files, flush=True)
        with open(os.path.join(os.environ["TMPDIR"], "filler"), "wb") as handle:
            try:
                while True:
                    handle.write(b"x" * 2**20)
                    handle.flush()
            except OSError as error:
                print("filler:", error.strerror, flush=True)
    """),
    )
    worker = limits_jail.spawn("notebook", submission, "n.ipynb")
    try:
        assert worker.gone is None
        printed = worker.output_excerpt()
        assert f"/{worker.token}" in printed.split("cgroup:")[1].split("\n")[0]
        size = int(re.search(r"tree bytes: (\d+)", printed)[1])
        assert worker.given.used_bytes + LIMITS.scratch_bytes == size
        assert "filler: No space left on device" in printed
        mount_point = limits_jail.spool / worker.token
        assert mounted(mount_point)
    finally:
        limits_jail.discard(worker)
    *_memory, scratch_used, scratch_limit, _files, files_limit = held(worker)
    assert scratch_limit == LIMITS.scratch_bytes and files_limit == LIMITS.scratch_files
    assert LIMITS.scratch_bytes - 64 * 1024 < scratch_used <= LIMITS.scratch_bytes
    assert not mounted(mount_point) and not mount_point.exists()
    assert not any(folder.exists() for folder in worker.group.folders)


@needs_root
@needs_cgroups
def test_forked_memfds_stop_the_worker_at_its_memory_limit_and_the_student_is_told(limits_jail, tmp_path):
    worker = limits_jail.spawn("notebook", notebook(tmp_path, FORK_AND_MEMFD), "n.ipynb")
    if worker.gone is None:  # the kernel stopped children only: the worker answers on
        worker.kill(None)
    limits_jail.discard(worker)
    peak, limit, enforced, stopped, *_rest = held(worker)
    assert enforced == KERNEL.name and limit == LIMITS.memory_bytes
    assert stopped >= 1 and LIMITS.memory_bytes // 2 < peak <= LIMITS.memory_bytes
    if worker.gone != "was closed by the judge":
        assert worker.gone == "reached its memory limit (256 MiB) and was stopped"


@needs_root
def test_where_no_cgroup_is_made_the_judge_watches_and_stops_the_worker(tmp_path, monkeypatch):
    monkeypatch.setenv(cgroups.ENV, "off")
    slow = FORK_AND_MEMFD.replace(
        'os.write(hoard, b"x" * 2**24)', 'os.write(hoard, b"x" * 2**24); time.sleep(0.05)'
    )
    with sandbox.Zygote(LIMITS, preload=()) as zygote:
        worker = zygote.spawn("notebook", notebook(tmp_path, slow), "n.ipynb")
        zygote.discard(worker)
    assert worker.gone == "reached its memory limit (256 MiB) and was stopped"
    peak, limit, enforced, stopped, *_rest = held(worker)
    assert enforced == "the judge's watch" and stopped == 1 and peak > limit == LIMITS.memory_bytes
    assert not mounted(zygote.spool)
