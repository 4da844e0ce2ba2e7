"""Does every worker find the kernel's doors it never needs closed (keyrings, IPC, sockets, namespaces)?

The filter is tried where it runs: workers of a real jail (whose zygote preloads nothing) make
each call and print what the kernel answered, while the judge holds a key in a session keyring of
its own, as an instructor's login session would. The same calls made with no filter show that each
works, or fails otherwise, where nothing refuses it: the refusals are the filter's.
"""

import ctypes
import json
import os
import platform
import re
import signal
import subprocess
import sys
import textwrap
import time

import nbformat
import pytest

from tpdl.judge import sandbox, seccomp

pytestmark = pytest.mark.skipif(
    seccomp.unavailable() is not None or platform.machine() != "x86_64",
    reason=f"no seccomp filter here: {seccomp.unavailable() or platform.machine()}",
)
LIMITS = sandbox.Limits(memory_bytes=512 * 2**20, notebook_s=60.0, request_s=30.0)
CANARY = "tpdl-canary"
SECRET = b"the instructor's secret"
ADD_KEY, KEYCTL = 248, 250  # x86-64
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_REVOKE, SESSION = 1, 3, -3

# Each call, made by raw number (x86-64) so that no library stands between it and the kernel; a
# call that would fork leaves its child at once. The keyring calls read the judge's canary.
PROBE = textwrap.dedent("""
    import ctypes, errno, json, os, socket, subprocess, threading

    libc = ctypes.CDLL(None, use_errno=True)

    def answer(result):
        return "ok" if result >= 0 else errno.errorcode[ctypes.get_errno()]

    def call(number, *args):
        return answer(libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) if isinstance(a, int) else a
                                                              for a in args]))

    def forking(number, *args):
        result = libc.syscall(ctypes.c_long(number), *args)
        if result == 0:
            os._exit(0)
        if result > 0:
            os.waitpid(result, 0)
        return answer(result)

    def opened(family, kind):
        try:
            socket.socket(family, kind).close()
            return "ok"
        except OSError as error:
            return errno.errorcode[error.errno]

    def in_a_thread():
        ran = []
        thread = threading.Thread(target=lambda: ran.append(True))
        thread.start()
        thread.join()
        return "ok" if ran else "not run"

    IPC_CREAT, IPC_RMID = 0o1000, 0
    made = {name: libc.syscall(ctypes.c_long(number), *map(ctypes.c_long, args)) for name, number, args in
            (("shmget", 29, (0, 4096, IPC_CREAT | 0o600)), ("msgget", 68, (0, IPC_CREAT | 0o600)),
             ("semget", 64, (0, 1, IPC_CREAT | 0o600)))}
    found = {name: answer(result) for name, result in made.items()}
    for name, number in (("shmget", 31), ("msgget", 71), ("semget", 66)):  # what was made, removed
        if made[name] >= 0:
            rmid = ctypes.c_long(IPC_RMID)
            libc.syscall(ctypes.c_long(number), ctypes.c_long(made[name]), rmid, None, None)
    keyring = libc.syscall(ctypes.c_long(250), ctypes.c_long(0), ctypes.c_long(-3), ctypes.c_long(0))
    found["keyctl"] = answer(keyring)
    held = ctypes.create_string_buffer(4096)
    found["keys read"] = call(250, 11, -3, held, 4096) if keyring >= 0 else "no keyring"
    found["canary seen"] = "tpdl-canary" in open("/proc/keys").read()
    found["add_key"] = call(248, b"user", b"tpdl-probe", b"x", 1, -3)
    found["request_key"] = call(249, b"user", b"tpdl-canary", None, 0)
    found["mq_open"] = call(240, b"tpdl-probe", os.O_CREAT | os.O_RDWR, 0o600, None)
    if found["mq_open"] == "ok":
        libc.syscall(ctypes.c_long(241), b"tpdl-probe")
    found["netlink socket"] = opened(socket.AF_NETLINK, socket.SOCK_RAW)
    found["udp socket"] = opened(socket.AF_INET, socket.SOCK_DGRAM)
    found["tcp socket"] = opened(socket.AF_INET, socket.SOCK_STREAM)
    found["unix socket"] = opened(socket.AF_UNIX, socket.SOCK_STREAM)
    new_user = ctypes.c_long(0x10000000 | 17)  # CLONE_NEWUSER | SIGCHLD
    found["clone user namespace"] = forking(56, new_user, None, None, None, ctypes.c_long(0))
    found["clone3"] = forking(435, (ctypes.c_uint64 * 11)(0, 0, 0, 0, 17), ctypes.c_long(88))
    found["io_uring_setup"] = call(425, 1, ctypes.create_string_buffer(120))
    found["fork"] = forking(57)
    found["thread"] = in_a_thread()
    found["subprocess"] = "ok" if subprocess.run(["/bin/true"]).returncode == 0 else "failed"
    found["unshare user namespace"] = call(272, 0x10000000)  # last: the process is nobody in it
    status = open("/proc/self/status").read().splitlines()
    found["filter"] = [line.split()[1] for line in status if line.startswith("Seccomp:")][0]
    print("PROBE", json.dumps(found), flush=True)
""")
REFUSED = {
    "shmget": "EPERM",
    "msgget": "EPERM",
    "semget": "EPERM",
    "keyctl": "EPERM",
    "keys read": "no keyring",
    "add_key": "EPERM",
    "request_key": "EPERM",
    "mq_open": "EPERM",
    "netlink socket": "EPERM",
    "udp socket": "EPERM",
    "tcp socket": "EPERM",
    "unshare user namespace": "EPERM",
    "clone user namespace": "EPERM",
    "clone3": "ENOSYS",
    "io_uring_setup": "EPERM",
}
KEPT = {"unix socket": "ok", "fork": "ok", "thread": "ok", "subprocess": "ok"}


def probed(text: str) -> dict:
    match = re.search(r"^PROBE (.*)$", text, re.MULTILINE)
    assert match, f"the probe printed nothing: {text[-2000:]!r}"
    return json.loads(match[1])


@pytest.fixture(scope="module")
def judge_keyring():
    """The judge of these tests in a session keyring of its own, holding a secret key: its id."""
    libc = ctypes.CDLL(None, use_errno=True)
    joined = libc.syscall(ctypes.c_long(KEYCTL), ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), None)
    key = libc.syscall(
        ctypes.c_long(ADD_KEY),
        b"user",
        CANARY.encode(),
        SECRET,
        ctypes.c_size_t(len(SECRET)),
        ctypes.c_long(SESSION),
    )
    if joined < 0 or key < 0:
        pytest.skip(f"no keyring for the judge here (errno {ctypes.get_errno()})")
    yield key
    libc.syscall(ctypes.c_long(KEYCTL), ctypes.c_long(KEYCTL_REVOKE), ctypes.c_long(key))


@pytest.fixture(scope="module")
def seccomp_jail(judge_keyring):
    with sandbox.Zygote(LIMITS, preload=()) as zygote:
        yield zygote


def submission(tmp_path, cell: str = "", app: str = ""):
    folder = tmp_path / "submission"
    folder.mkdir()
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(cell)]
    nbformat.write(book, folder / "n.ipynb")
    if app:
        (folder / "app.py").write_text(app)
    return folder


def test_every_refused_call_is_one_the_machine_has():
    library = seccomp._library()
    names = [name for names in seccomp.DENIED.values() for name in names.split()] + ["clone", "clone3"]
    unknown = [name for name in names if library.seccomp_syscall_resolve_name(name.encode()) < 0]
    assert not unknown, f"libseccomp does not know these system calls on x86-64: {unknown}"


def test_a_notebook_worker_is_refused_every_door_and_keeps_the_rest(seccomp_jail, tmp_path, judge_keyring):
    worker = seccomp_jail.spawn("notebook", submission(tmp_path, PROBE), "n.ipynb")
    try:
        assert worker.gone is None, worker.gone
        found = probed(worker.output_excerpt())
    finally:
        seccomp_jail.discard(worker)
    assert {name: found[name] for name in REFUSED} == REFUSED
    assert {name: found[name] for name in KEPT} == KEPT
    assert found["filter"] == "2" and found["canary seen"] is False


@pytest.mark.skipif(os.geteuid() != 0, reason="an IPC namespace of its own is made by root")
def test_without_the_filter_each_refused_call_works_or_fails_otherwise(judge_keyring):
    """The probe in a process of the judge's (IPC of its own, no filter): the refusals above are the
    filter's."""
    unfiltered = subprocess.run(
        ["unshare", "--ipc", sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60
    )
    found = probed(unfiltered.stdout + unfiltered.stderr)
    assert found["filter"] == "0" and found["canary seen"] is True and found["keys read"] == "ok"
    assert not [name for name in REFUSED if found[name] == REFUSED[name]], found


APP = PROBE + textwrap.dedent("""
    def create_app():
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return app
""")


def test_a_service_worker_listens_on_tcp_and_opens_nothing_else(seccomp_jail, tmp_path):
    worker = seccomp_jail.spawn(
        "service", submission(tmp_path, app=APP), options={"module": "app", "factory": "create_app"}
    )
    try:
        assert worker.gone is None, worker.gone
        deadline = time.monotonic() + 30
        while "PROBE" not in worker.output_excerpt() and time.monotonic() < deadline:
            time.sleep(0.1)  # gunicorn's worker imports the app once it has forked
        found = probed(worker.output_excerpt())
    finally:
        seccomp_jail.discard(worker)
    assert found["tcp socket"] == "ok" and found["unix socket"] == "ok"
    assert {name: found[name] for name in REFUSED if name != "tcp socket"} == {
        name: value for name, value in REFUSED.items() if name != "tcp socket"
    }


# Each kind's sockets: (family, type) as the C library passes them, and the family with high bits
# set, which the kernel reads as its low 32 bits.
SOCKETS = {
    "unix stream": (1, 1),
    "unix datagram": (1, 2),
    "tcp": (2, 1),
    "tcp non-blocking": (2, 1 | 0o4000 | 0o2000000),
    "tcp6": (10, 1),
    "udp": (2, 2),
    "udp non-blocking": (2, 2 | 0o4000),
    "udp6": (10, 2),
    "sctp-like": (2, 5),
    "netlink": (16, 3),
    "algorithm": (38, 5),
    "ipv4 with high bits": (0x1_0000_0002, 1),
}
SOCKET_PROBE = textwrap.dedent("""
    import ctypes, errno, json, sys
    from tpdl.judge import seccomp
    if sys.argv[1] != "none":
        seccomp.confine(sys.argv[1])
    libc = ctypes.CDLL(None, use_errno=True)
    found = {}
    for name, (family, kind) in json.loads(sys.argv[2]).items():
        made = libc.syscall(ctypes.c_long(41), ctypes.c_long(family), ctypes.c_long(kind), ctypes.c_long(0))
        found[name] = "ok" if made >= 0 else errno.errorcode[ctypes.get_errno()]
    pair = (ctypes.c_int * 2)()
    for family in (1, 2):
        arguments = (ctypes.c_long(family), ctypes.c_long(1), ctypes.c_long(0), pair)
        made = libc.syscall(ctypes.c_long(53), *arguments)
        found[f"socketpair {family}"] = "ok" if made >= 0 else errno.errorcode[ctypes.get_errno()]
    print(json.dumps(found))
""")
ALLOWED = {
    seccomp.UNIX: {"unix stream", "unix datagram", "socketpair 1"},
    seccomp.TCP: {"unix stream", "unix datagram", "socketpair 1", "tcp", "tcp non-blocking", "tcp6"},
}


def sockets_opened(kind: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SOCKET_PROBE, kind, json.dumps(SOCKETS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("kind", sorted(seccomp.SOCKETS))
def test_each_kind_of_worker_opens_only_the_sockets_it_needs(kind):
    found = sockets_opened(kind)
    allowed = ALLOWED[seccomp.SOCKETS[kind]]
    assert {name for name, answer in found.items() if answer == "ok"} == allowed
    assert {answer for name, answer in found.items() if name not in allowed} == {"EPERM"}


def test_without_the_filter_those_sockets_open_or_fail_otherwise():
    found = sockets_opened("none")
    assert not [name for name, answer in found.items() if answer == "EPERM"], found
    assert found["udp"] == found["netlink"] == found["ipv4 with high bits"] == "ok"


I386_GETPID = bytes.fromhex("b814000000cd80c3")  # mov eax, 20 (getpid on i386); int 0x80; ret
OTHER_ABIS = textwrap.dedent("""
    import ctypes, mmap, sys
    from tpdl.judge import seccomp
    if sys.argv[3]:
        seccomp.confine(sys.argv[3])
    if sys.argv[1] == "x32":  # x32's numbers are x86-64's with bit 30 set: getpid
        ctypes.CDLL(None).syscall(ctypes.c_long(0x40000000 | 39))
    else:
        code = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        code.write(bytes.fromhex(sys.argv[2]))
        address = ctypes.addressof(ctypes.c_char.from_buffer(code))
        ctypes.CFUNCTYPE(ctypes.c_int)(address)()
    print("survived")
""")


@pytest.mark.parametrize("abi", ["x32", "i386"])
@pytest.mark.parametrize("filtered", [True, False], ids=["filtered", "unfiltered"])
def test_a_call_of_another_abi_kills_the_process(abi, filtered):
    done = subprocess.run(
        [sys.executable, "-c", OTHER_ABIS, abi, I386_GETPID.hex(), "notebook" if filtered else ""],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if filtered:
        assert done.returncode == -signal.SIGSYS and "survived" not in done.stdout, (
            done.returncode,
            done.stderr,
        )
    else:  # x32's call fails (ENOSYS where the kernel lacks x32), i386's answers
        assert done.returncode == 0 and "survived" in done.stdout, (done.returncode, done.stderr)


def test_the_filter_reads_as_its_rules_say(tmp_path):
    with open(tmp_path / "filter.txt", "w") as text:
        seccomp.describe("service", text.fileno())
    pseudo = (tmp_path / "filter.txt").read_text()
    assert "# invalid architecture action\naction KILL_PROCESS;" in pseudo
    assert "action ERRNO(38);" in pseudo  # clone3: ENOSYS
    refused = set(re.findall(r'filter for syscall "(\w+)"', pseudo))
    assert {name for names in seccomp.DENIED.values() for name in names.split()} <= refused
    assert {"clone", "clone3", "socket", "socketpair"} <= refused
