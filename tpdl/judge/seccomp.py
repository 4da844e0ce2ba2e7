"""What a worker may ask of the kernel: a seccomp filter, compiled by libseccomp, in every worker.

A worker installs its filter (:func:`confine`) once it runs as its own user with no new
privileges, before anything of the student's runs; everything it forks keeps it. Every system call
goes through except those of :data:`DENIED`, which fail with ``EPERM``, ``clone3`` (``ENOSYS``:
the C library then falls back to ``clone``, whose flags a filter can read), and sockets beyond what
the worker's kind needs (:data:`SOCKETS`). A system call of another architecture (i386's, or x32's
numbers on x86-64) kills the process: the filter knows only the machine's own numbers.

Where libseccomp or the kernel's filters are missing, :func:`unavailable` says why; workers then
run unfiltered and ``tpdl grade`` says so when it starts.
"""

import ctypes
import errno
import functools
import socket
from dataclasses import dataclass

# The system calls no worker makes, grouped by the door each closes.
DENIED = {
    # A worker would share the judge's session keyring (keys read, added, revoked), and keys added
    # to its user's keyring would outlive it for the next student with that user.
    "keyrings": "add_key request_key keyctl",
    # Objects of the jail's IPC namespace outlive the worker that made them: the next student reads
    # them, and their memory piles up across a class. (POSIX shared memory needs /dev/shm: the
    # jail's is root's.)
    "System V IPC": "shmget shmat shmctl msgget msgsnd msgrcv msgctl semget semop semtimedop semctl",
    "POSIX message queues": "mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr",
    # A new user namespace gives back every capability inside it, and with them the kernel's file
    # systems, network and mount code as an attack surface.
    "namespaces and mounts": "unshare setns mount umount2 pivot_root chroot open_tree move_mount fsopen "
    "fsconfig fsmount fspick mount_setattr",
    # A second way into the kernel, whose operations no filter sees.
    "io_uring": "io_uring_setup io_uring_enter io_uring_register",
    "other processes": "ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd",
    "kernel programs, events and faults": "bpf perf_event_open userfaultfd fanotify_init",
    # The rest of Docker's default refusals: the machine's clock, modules, swap, logs and devices.
    "the machine": "kexec_load kexec_file_load init_module finit_module delete_module reboot swapon swapoff "
    "acct settimeofday clock_settime syslog quotactl quotactl_fd name_to_handle_at open_by_handle_at iopl "
    "ioperm vhangup",
}
# Sockets each kind of worker may open. Every kind speaks to the judge over a Unix socket; the
# ``models`` worker (the judge's HTTP client) and the ``service`` worker (the student's app under
# gunicorn) also speak TCP on the jail's loopback. Nothing else: netlink queues and UDP buffers
# are memory no cgroup v1 group counts, and no worker needs them.
UNIX, TCP = "unix", "unix and tcp"
SOCKETS = {"notebook": UNIX, "cells": UNIX, "graphs": UNIX, "models": TCP, "service": TCP}
CLONE_NEW = {  # clone's flags that make new namespaces (CLONE_NEWTIME is clone3's and unshare's)
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}

LIBRARY = "libseccomp.so.2"
ALLOW = 0x7FFF0000
KILL_PROCESS = 0x80000000
ERRNO = 0x00050000  # | the error number
ATTR_ACT_BADARCH, ATTR_CTL_NNP, ATTR_CTL_TSYNC = 2, 3, 4
NE, EQ, GT, MASKED_EQ = 1, 4, 6, 7
UNKNOWN = -1  # libseccomp's number for a name it does not know (those of other architectures are below)
KEYCTL_JOIN_SESSION_KEYRING = 1
KILL_PROCESS_API = 3  # libseccomp's API level where the kernel can kill a whole process (Linux 4.14)


@dataclass(frozen=True)
class Arg:
    """One comparison of argument ``index``: ``op`` with ``value`` (``MASKED_EQ``:
    ``(arg & mask) == value``)."""

    index: int
    op: int
    value: int
    mask: int = 0


@dataclass(frozen=True)
class Rule:
    """A system call that fails with ``error`` when every comparison of ``args`` holds."""

    name: str
    error: int
    args: tuple[Arg, ...] = ()


def _not_stream(family: int) -> list[Rule]:
    """Refuse sockets of ``family`` whose type is not ``SOCK_STREAM``.

    The type is the argument's low four bits (``SOCK_NONBLOCK`` and ``SOCK_CLOEXEC`` are higher
    ones): anything but ``SOCK_STREAM`` (1) has bit 0 clear or one of bits 1 to 3 set.
    """
    domain = Arg(0, EQ, family)
    bits = [Arg(1, MASKED_EQ, 0, mask=1), *(Arg(1, MASKED_EQ, bit, mask=bit) for bit in (2, 4, 8))]
    return [Rule("socket", errno.EPERM, (domain, bit)) for bit in bits]


def rules(kind: str) -> list[Rule]:
    """The filter of a worker of ``kind``: every refusal it makes."""
    found = [Rule(name, errno.EPERM) for names in DENIED.values() for name in names.split()]
    found.append(Rule("clone3", errno.ENOSYS))  # its flags are in memory, out of a filter's sight
    found += [
        Rule("clone", errno.EPERM, (Arg(0, MASKED_EQ, flag, mask=flag),)) for flag in CLONE_NEW.values()
    ]
    found.append(Rule("socketpair", errno.EPERM, (Arg(0, NE, socket.AF_UNIX),)))
    if SOCKETS[kind] == UNIX:
        found.append(Rule("socket", errno.EPERM, (Arg(0, NE, socket.AF_UNIX),)))
        return found
    # Families 1, 2 and 10 only (Unix, IPv4, IPv6): libseccomp compares an argument once per rule.
    others = (0, *range(socket.AF_INET + 1, socket.AF_INET6))
    found += [Rule("socket", errno.EPERM, (Arg(0, EQ, family),)) for family in others]
    found.append(Rule("socket", errno.EPERM, (Arg(0, GT, socket.AF_INET6),)))  # and any with high bits set
    for family in (socket.AF_INET, socket.AF_INET6):
        found += _not_stream(family)
    return found


class _Comparison(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


@functools.lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | str:
    """libseccomp with the prototypes used here, or why it cannot be used."""
    try:
        library = ctypes.CDLL(LIBRARY, use_errno=True)
    except OSError:
        return f"{LIBRARY} is not installed (Debian/Ubuntu: apt-get install libseccomp2)"
    library.seccomp_init.argtypes, library.seccomp_init.restype = [ctypes.c_uint32], ctypes.c_void_p
    library.seccomp_release.argtypes, library.seccomp_release.restype = [ctypes.c_void_p], None
    library.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    library.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_Comparison),
    ]
    library.seccomp_load.argtypes = [ctypes.c_void_p]
    library.seccomp_export_pfc.argtypes = [ctypes.c_void_p, ctypes.c_int]
    library.seccomp_api_get.restype = ctypes.c_uint
    if library.seccomp_api_get() < KILL_PROCESS_API:
        return "the kernel's seccomp filters cannot kill a process here (Linux 4.14 or later needed)"
    return library


def unavailable() -> str | None:
    """Why workers cannot be filtered here, or None when they are."""
    library = _library()
    return library if isinstance(library, str) else None


def _check(result: int, what: str) -> None:
    if result < 0:
        raise OSError(-result, f"libseccomp could not {what}: {errno.errorcode.get(-result, -result)}")


def _loaded() -> ctypes.CDLL:
    """libseccomp, or ``OSError`` saying why it cannot be used."""
    library = _library()
    if isinstance(library, str):
        raise OSError(errno.ENOSYS, library)
    return library


def build(kind: str) -> int:
    """A libseccomp context holding the filter of ``kind`` (release it with ``seccomp_release``)."""
    library = _loaded()
    context = library.seccomp_init(ALLOW)
    if not context:
        raise OSError(errno.ENOMEM, "libseccomp could not start a filter")
    try:
        _check(library.seccomp_attr_set(context, ATTR_ACT_BADARCH, KILL_PROCESS), "kill other architectures")
        _check(library.seccomp_attr_set(context, ATTR_CTL_NNP, 1), "ask for no new privileges")
        _check(library.seccomp_attr_set(context, ATTR_CTL_TSYNC, 1), "filter every thread")
        for rule in rules(kind):
            number = library.seccomp_syscall_resolve_name(rule.name.encode())
            if number == UNKNOWN:
                raise ValueError(f"libseccomp knows no system call {rule.name!r}")
            if number < 0:  # one of another architecture (iopl on arm64): nothing to refuse here
                continue
            args = (_Comparison * max(1, len(rule.args)))()
            for slot, arg in zip(args, rule.args):
                slot.arg, slot.op = arg.index, arg.op
                slot.datum_a, slot.datum_b = (arg.mask, arg.value) if arg.op == MASKED_EQ else (arg.value, 0)
            _check(
                library.seccomp_rule_add_array(context, ERRNO | rule.error, number, len(rule.args), args),
                f"refuse {rule.name}",
            )
    except BaseException:
        library.seccomp_release(context)
        raise
    return context


def confine(kind: str) -> None:
    """Install the filter of ``kind`` in this process (and all it will fork); raises ``OSError`` if it
    cannot."""
    library = _loaded()
    context = build(kind)
    try:
        _check(library.seccomp_load(context), "load the filter")
    finally:
        library.seccomp_release(context)


def leave_session_keyring() -> None:
    """Give this process, and all it will fork, a new and empty session keyring: the judge's, which
    every process it starts inherits, stays behind (where libseccomp names the system call)."""
    library = _library()
    if isinstance(library, str):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    keyctl = library.seccomp_syscall_resolve_name(b"keyctl")
    if libc.syscall(ctypes.c_long(keyctl), ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), None) < 0:
        number = ctypes.get_errno()
        raise OSError(
            number, f"cannot leave the judge's session keyring: {errno.errorcode.get(number, number)}"
        )


def describe(kind: str, fd: int) -> None:
    """Write the filter of ``kind`` to ``fd`` as libseccomp's readable pseudo-code."""
    library = _loaded()
    context = build(kind)
    try:
        _check(library.seccomp_export_pfc(context, fd), "describe the filter")
    finally:
        library.seccomp_release(context)
