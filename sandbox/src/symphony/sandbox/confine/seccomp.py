"""A seccomp BPF filter: system calls an extension never needs fail with EPERM.

The filter first checks the architecture (a syscall made through another ABI,
e.g. 32-bit or x32 on x86_64, would dodge the number checks, so a foreign
architecture kills the process and x32 numbers are denied).  It then denies
kernel attack surface and escape hatches (``ptrace``, ``mount``, ``unshare``,
``setns``, ``bpf``, ``keyctl``, ``io_uring``, module loading, ...), process
creation (``fork``, ``vfork``, ``execve``, and ``clone`` unless it makes a
thread; ``clone3`` answers ENOSYS so glibc falls back to the ``clone`` we can
inspect), any ``clone`` that would make a namespace, and signals, rlimit,
priority, CPU-affinity and I/O-class changes aimed at any process other than
the worker itself: the host shares the worker's uid and process group, so
``kill(0, SIGKILL)`` or ``setpriority(PRIO_USER, uid, 19)`` would otherwise reach it.
So does SIGIO, which the kernel sends to a descriptor's owner: ``F_SETOWN``
may name only the worker, ``F_SETOWN_EX``, ``FIOSETOWN`` and ``SIOCSPGRP`` are denied.
No file mode it sets may carry setuid or setgid (``chmod``, ``open(O_CREAT)``, ``mkdir``...):
the worker owns what it writes in a granted directory, so it could otherwise leave behind
a program that runs as the host's user for whoever starts it.

Sockets: ``socket()`` is denied outright for AF_UNIX (a pathname or abstract
address reaches any local service of the same user: the bus, a conductor, an
ssh-agent) and for every family unless the policy allows the network.  The
one socket the worker needs is asyncio's self-pipe, a ``socketpair(AF_UNIX,
SOCK_STREAM)``: a connected stream pair can neither ``connect`` nor ``sendto``
anywhere else, so it is the only pair allowed (a datagram pair could ``sendto``
any address).

:func:`build_filter` is pure (it returns the program), so tests can inspect it.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Iterable
from typing import Final, NamedTuple

from ._libc import ARCH, UnavailableError, check, libc, syscall

__all__ = ["ALWAYS_DENIED", "Instruction", "build_filter", "install", "set_no_new_privs", "syscall_numbers"]

_LD_W_ABS, _AND, _JEQ, _JGE, _JSET, _RET = 0x20, 0x54, 0x15, 0x35, 0x45, 0x06
_RET_KILL_PROCESS, _RET_ALLOW = 0x80000000, 0x7FFF0000
_RET_ERRNO: Final = 0x00050000
# offsetof(struct seccomp_data, ...); the low word of an argument (little-endian), which is all
# the kernel reads of the int (pid, family, flags) arguments checked here.
_OFF_NR, _OFF_ARCH = 0, 4
_OFF_ARG0, _OFF_ARG1, _OFF_ARG2, _OFF_ARG3 = 16, 24, 32, 40
_CLONE_THREAD: Final = 0x00010000
#: CLONE_NEWTIME, NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: a thread needs none.
_CLONE_NAMESPACES: Final = 0x80 | 0x20000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
_AF_UNIX, _SOCK_STREAM, _SOCK_TYPE_MASK = 1, 1, 0xF
_PRIO_PROCESS, _IOPRIO_WHO_PROCESS = 0, 1
_F_SETOWN, _F_SETOWN_EX, _FIOSETOWN, _SIOCSPGRP = 8, 15, 0x8901, 0x8902
_S_ISUID_ISGID: Final = 0o6000
_X32_BIT: Final = 0x40000000
_PR_SET_NO_NEW_PRIVS: Final = 38
_SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_TSYNC = 1, 1

_AUDIT_ARCH: Final = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

# fmt: off
_X86_64: Final = {
    "ioctl": 16, "fcntl": 72, "open": 2, "creat": 85, "chmod": 90, "fchmod": 91, "mkdir": 83, "mknod": 133,
    "openat": 257, "mkdirat": 258, "mknodat": 259, "fchmodat": 268,
    "socket": 41, "socketpair": 53, "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "kill": 62,
    "ptrace": 101, "syslog": 103, "rt_sigqueueinfo": 129, "vhangup": 153, "pivot_root": 155, "chroot": 161,
    "acct": 163, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169, "iopl": 172,
    "ioperm": 173, "init_module": 175, "delete_module": 176, "quotactl": 179, "tkill": 200,
    "lookup_dcookie": 212, "tgkill": 234, "kexec_load": 246, "add_key": 248, "request_key": 249,
    "keyctl": 250, "unshare": 272, "rt_tgsigqueueinfo": 297, "perf_event_open": 298, "fanotify_init": 300,
    "prlimit64": 302, "name_to_handle_at": 303, "open_by_handle_at": 304, "setns": 308,
    "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "seccomp": 317,
    "kexec_file_load": 320, "bpf": 321, "execveat": 322, "userfaultfd": 323,
    "setpriority": 141, "sched_setparam": 142, "sched_setscheduler": 144, "sched_setaffinity": 203,
    "ioprio_set": 251, "migrate_pages": 256, "get_robust_list": 274, "move_pages": 279, "sched_setattr": 314,
}
_AARCH64: Final = {
    "fcntl": 25, "ioctl": 29, "mknodat": 33, "mkdirat": 34, "fchmod": 52, "fchmodat": 53, "openat": 56,
    "lookup_dcookie": 18, "umount2": 39, "mount": 40, "pivot_root": 41, "chroot": 51, "vhangup": 58,
    "quotactl": 60, "acct": 89, "unshare": 97, "kexec_load": 104, "init_module": 105, "delete_module": 106,
    "syslog": 116, "ptrace": 117, "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138,
    "reboot": 142, "socket": 198, "socketpair": 199, "add_key": 217, "request_key": 218, "keyctl": 219,
    "clone": 220, "execve": 221, "swapon": 224, "swapoff": 225, "rt_tgsigqueueinfo": 240,
    "perf_event_open": 241, "prlimit64": 261, "fanotify_init": 262, "name_to_handle_at": 264,
    "open_by_handle_at": 265, "setns": 268, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272,
    "finit_module": 273, "seccomp": 277, "bpf": 280, "execveat": 281, "userfaultfd": 282,
    "kexec_file_load": 294, "ioprio_set": 30, "get_robust_list": 100, "sched_setparam": 118,
    "sched_setscheduler": 119, "sched_setaffinity": 122, "setpriority": 140, "migrate_pages": 238,
    "move_pages": 239, "sched_setattr": 274,
}
# Numbers from 424 on are shared by every architecture.
_COMMON: Final = {
    "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "clone3": 435, "openat2": 437, "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442,
    "process_mrelease": 448, "fchmodat2": 452,
}
# fmt: on

#: Denied whatever the policy says: nothing an extension needs, much a breakout uses.
ALWAYS_DENIED: Final = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "mount_setattr", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff", "iopl", "ioperm", "quotactl",
    "acct", "syslog", "lookup_dcookie", "vhangup", "fanotify_init", "open_by_handle_at", "name_to_handle_at",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "pidfd_send_signal", "pidfd_getfd", "tkill",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "process_madvise", "process_mrelease", "get_robust_list",
)  # fmt: skip

#: Calls whose first argument is a pid: allowed only on the worker itself (its pid, or 0 for "me").
_OWN_PID_ONLY: Final = (
    "prlimit64", "sched_setparam", "sched_setscheduler", "sched_setaffinity", "sched_setattr", "migrate_pages",
    "move_pages",
)  # fmt: skip


#: Calls that set a file's mode, and which argument holds it: none may set setuid or setgid, or a
#: file the worker leaves in a granted directory would run as the host's user for anyone.
#: ``openat2`` hides its mode in a struct, so it answers ENOSYS and callers fall back to ``openat``.
_MODE_ARGUMENT: Final = {
    "open": 2, "creat": 1, "chmod": 1, "fchmod": 1, "mkdir": 1, "mknod": 1, "openat": 3, "mkdirat": 2,
    "mknodat": 2, "fchmodat": 2, "fchmodat2": 2,
}  # fmt: skip


#: An instruction before assembly: jump targets may be handler labels.
_Step = tuple[int, str | int, str | int, int]


class Instruction(NamedTuple):
    """One classic-BPF instruction (``struct sock_filter``)."""

    code: int
    jt: int
    jf: int
    k: int


def syscall_numbers(arch: str = ARCH) -> dict[str, int]:
    """Name to number for ``arch``; UnavailableError for an architecture we have no table for."""
    table = {"x86_64": _X86_64, "aarch64": _AARCH64}.get(arch)
    if table is None:
        raise UnavailableError(0, f"no seccomp syscall table for architecture {arch!r} (only x86_64 and aarch64)")
    return {**table, **_COMMON}


def _errno(code: int) -> int:
    return _RET_ERRNO | code


def build_filter(*, pid: int, allow_processes: bool, allow_network: bool, arch: str = ARCH) -> list[Instruction]:
    """The filter program for this policy; ``pid`` is the worker's own, the only target of signals and the like."""
    numbers = syscall_numbers(arch)
    # Each rule: syscall name -> handler label.  Handlers come after the dispatch table.
    rules: dict[str, str] = {name: "deny" for name in ALWAYS_DENIED if name in numbers}
    rules.update(dict.fromkeys(_OWN_PID_ONLY, "self_or_zero"))
    rules.update(tgkill="self", setpriority="priority", ioprio_set="io_priority", clone3="enosys")
    rules.update(fcntl="fcntl_owner", ioctl="ioctl_owner", openat2="enosys")
    rules.update({name: f"no_setid_arg{index}" for name, index in _MODE_ARGUMENT.items()})
    rules["clone"] = "clone_process" if allow_processes else "clone_thread"
    if not allow_processes:
        rules.update(fork="deny", vfork="deny", execve="deny", execveat="deny", kill="self")
    else:  # its children's pids are unknown here; a process group or everyone (-1) would take in the host
        rules["kill"] = "one_process"
    rules.update(socket="not_unix" if allow_network else "deny", socketpair="unix_stream")
    present = {name: label for name, label in rules.items() if name in numbers}

    # Argument checks first: classic BPF jumps only forward, and they end in allow/deny.
    own_pid_in_arg1: list[_Step] = [(_LD_W_ABS, 0, 0, _OFF_ARG1), (_JEQ, "allow", 0, 0), (_JEQ, "allow", "deny", pid)]
    handlers: dict[str, list[_Step]] = {
        "clone_thread": [
            (_LD_W_ABS, 0, 0, _OFF_ARG0),
            (_JSET, "deny", 0, _CLONE_NAMESPACES),
            (_JSET, "allow", "deny", _CLONE_THREAD),
        ],
        "clone_process": [(_LD_W_ABS, 0, 0, _OFF_ARG0), (_JSET, "deny", "allow", _CLONE_NAMESPACES)],
        "not_unix": [(_LD_W_ABS, 0, 0, _OFF_ARG0), (_JEQ, "deny", "allow", _AF_UNIX)],
        "unix_stream": [
            (_LD_W_ABS, 0, 0, _OFF_ARG0),
            (_JEQ, 0, "deny", _AF_UNIX),
            (_LD_W_ABS, 0, 0, _OFF_ARG1),
            (_AND, 0, 0, _SOCK_TYPE_MASK),
            (_JEQ, "allow", "deny", _SOCK_STREAM),
        ],
        # F_SETOWN names who gets SIGIO (default action: terminate) when a descriptor becomes ready.
        "fcntl_owner": [
            (_LD_W_ABS, 0, 0, _OFF_ARG1),
            (_JEQ, "deny", 0, _F_SETOWN_EX),
            (_JEQ, 0, "allow", _F_SETOWN),
            (_LD_W_ABS, 0, 0, _OFF_ARG2),
            (_JEQ, "allow", 0, 0),
            (_JEQ, "allow", "deny", pid),
        ],
        "ioctl_owner": [
            (_LD_W_ABS, 0, 0, _OFF_ARG1),
            (_JEQ, "deny", 0, _FIOSETOWN),
            (_JEQ, "deny", "allow", _SIOCSPGRP),
        ],
        **{
            f"no_setid_arg{index}": [(_LD_W_ABS, 0, 0, offset), (_JSET, "deny", "allow", _S_ISUID_ISGID)]
            for index, offset in ((1, _OFF_ARG1), (2, _OFF_ARG2), (3, _OFF_ARG3))
        },
        "priority": [(_LD_W_ABS, 0, 0, _OFF_ARG0), (_JEQ, 0, "deny", _PRIO_PROCESS), *own_pid_in_arg1],
        "io_priority": [(_LD_W_ABS, 0, 0, _OFF_ARG0), (_JEQ, 0, "deny", _IOPRIO_WHO_PROCESS), *own_pid_in_arg1],
        "self": [(_LD_W_ABS, 0, 0, _OFF_ARG0), (_JEQ, "allow", "deny", pid)],
        "one_process": [(_LD_W_ABS, 0, 0, _OFF_ARG0), (_JEQ, "deny", 0, 0), (_JSET, "deny", "allow", 0x80000000)],
        "self_or_zero": [(_LD_W_ABS, 0, 0, _OFF_ARG0), (_JEQ, "allow", 0, 0), (_JEQ, "allow", "deny", pid)],
        "allow": [(_RET, 0, 0, _RET_ALLOW)],
        "deny": [(_RET, 0, 0, _errno(errno.EPERM))],
        "enosys": [(_RET, 0, 0, _errno(errno.ENOSYS))],
    }
    body: list[_Step] = [
        (_LD_W_ABS, 0, 0, _OFF_ARCH),
        (_JEQ, 1, 0, _AUDIT_ARCH[arch]),
        (_RET, 0, 0, _RET_KILL_PROCESS),
        (_LD_W_ABS, 0, 0, _OFF_NR),
    ]
    if arch == "x86_64":
        body.append((_JGE, "deny", 0, _X32_BIT))
    for name, label in sorted(present.items(), key=lambda item: numbers[item[0]]):
        body.append((_JEQ, label, 0, numbers[name]))
    body.append((_RET, 0, 0, _RET_ALLOW))
    return _assemble(body, handlers)


def _assemble(
    body: list[_Step],
    handlers: dict[str, list[_Step]],
) -> list[Instruction]:
    """Lay out body then handlers, resolving label jumps to relative offsets."""
    program = list(body)
    where: dict[str, int] = {}
    for label, block in handlers.items():
        where[label] = len(program)
        program.extend(block)

    def offset(target: str | int, index: int) -> int:
        if isinstance(target, int):
            return target
        distance = where[target] - index - 1
        if not 0 <= distance <= 255:
            raise ValueError(f"seccomp filter jump to {target!r} out of range ({distance})")
        return distance

    return [Instruction(code, offset(jt, i), offset(jf, i), k) for i, (code, jt, jf, k) in enumerate(program)]


class _SockFilter(ctypes.Structure):
    _fields_ = (("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32))


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


def set_no_new_privs() -> None:
    """``PR_SET_NO_NEW_PRIVS``: no setuid binary or file capability can ever raise our privileges."""
    check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def install(program: Iterable[Instruction]) -> int:
    """Load ``program`` for every thread of this process; returns its length.  Needs no_new_privs."""
    instructions = list(program)
    array = (_SockFilter * len(instructions))(*(_SockFilter(*ins) for ins in instructions))
    fprog = _SockFprog(len(instructions), ctypes.cast(array, ctypes.POINTER(_SockFilter)))
    number = syscall_numbers()["seccomp"]
    try:
        syscall(
            number,
            ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
            ctypes.c_uint(_SECCOMP_FILTER_FLAG_TSYNC),
            ctypes.byref(fprog),
        )
    except OSError as error:
        raise UnavailableError(error.errno or 0, f"seccomp filter refused: {error.strerror}") from None
    return len(instructions)
