"""A hostile extension for the escape matrix: each operation is one way out of the worker.

Like ``symphony_test_hostile`` (whose outcome helper it shares; the tests put
both on the worker's path), every operation answers ``{"outcome": "allowed",
"value": ...}`` or ``{"outcome": "denied", "error": "...", "errno": N}``, so a
test can tell a denial from a bug.  Raw system calls go through ctypes because
the attack is the system call, not a library's wrapper around it.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import resource
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any, Final, NoReturn

# One outcome format for both hostile extensions; the hostile one is on the worker's path, not on mypy's.
from symphony_test_hostile import _attempt  # type: ignore[import-not-found,unused-ignore]

_libc: Final = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

# x86_64 numbers first, aarch64 second (the two architectures the sandbox supports).
_ARM = os.uname().machine == "aarch64"
SYSCALLS: Final = {
    name: numbers[1 if _ARM else 0]
    for name, numbers in {
        "ptrace": (101, 117),
        "process_vm_readv": (310, 270),
        "keyctl": (250, 219),
        "perf_event_open": (298, 241),
        "userfaultfd": (323, 282),
        "io_uring_setup": (425, 425),
        "bpf": (321, 280),
        "pidfd_open": (434, 434),
        "pidfd_getfd": (438, 438),
        "pidfd_send_signal": (424, 424),
        "memfd_create": (319, 279),
        "execveat": (322, 281),
        "tgkill": (234, 131),
        "ioprio_set": (251, 30),
        "ioprio_get": (252, 31),
    }.items()
}
_AT_EMPTY_PATH: Final = 0x1000


def _syscall(name: str, *args: Any) -> int:
    result = int(_libc.syscall(ctypes.c_long(SYSCALLS[name]), *args))
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{name}: {os.strerror(code)}")
    return result


def _fail(what: str) -> NoReturn:
    code = ctypes.get_errno()
    raise OSError(code, f"{what}: {os.strerror(code)}")


def _address(input: dict[str, Any]) -> str | bytes:
    return b"\0" + input["abstract"].encode() if "abstract" in input else str(input["path"])


def _talk(sock: socket.socket) -> str:
    """What the service said first: the proof that it answered."""
    sock.settimeout(2)
    try:
        return sock.recv(100).decode(errors="replace")
    except TimeoutError:
        return ""


def _unix_connect(input: dict[str, Any]) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(_address(input))
        return _talk(sock)


def _dgram_socketpair_sendto(input: dict[str, Any]) -> int:
    """A connected datagram pair may still ``sendto`` any address: a way to reach a datagram service."""
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with left, right:
        return left.sendto(b"hello from the sandbox\n", _address(input))


def _stream_socketpair_redirect(input: dict[str, Any]) -> str:
    """A connected stream pair cannot be pointed elsewhere: ``connect`` on it must fail."""
    left, right = socket.socketpair()
    with left, right:
        left.connect(_address(input))
        return _talk(left)


def _socketpair_round_trip() -> str:
    """What the worker's own event loop needs: a stream pair talking to itself."""
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"self-pipe")
        return right.recv(100).decode()


def _socket_peers() -> list[str]:
    """The peer of every socket descriptor this process holds (an inherited connection would show here)."""
    peers = []
    for fd in range(3, 1024):
        try:
            with socket.socket(fileno=os.dup(fd)) as sock:
                peers.append(repr(sock.getpeername()))
        except OSError:
            continue
    return peers


def _descriptors() -> list[list[int]]:
    """``[fd, st_dev, st_ino]`` of every descriptor this process holds: what it inherited, among others."""
    held = []
    for fd in range(1024):
        try:
            info = os.fstat(fd)
        except OSError:
            continue
        held.append([fd, info.st_dev, info.st_ino])
    return held


def _raise_limit(name: str) -> list[int]:
    which = getattr(resource, name)
    try:
        resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except ValueError as error:  # how the resource module spells the kernel's EPERM
        raise OSError(errno.EPERM, str(error)) from None
    return list(resource.getrlimit(which))


def _pidfd_getfd(pid: int, fd: int) -> int:
    pidfd = _syscall("pidfd_open", ctypes.c_int(pid), ctypes.c_uint(0))
    try:
        return _syscall("pidfd_getfd", ctypes.c_int(pidfd), ctypes.c_int(fd), ctypes.c_uint(0))
    finally:
        os.close(pidfd)


def _memfd_exec() -> int:
    """Write /bin/true into anonymous memory and execute it: exec without any file on disk."""
    fd = _syscall("memfd_create", ctypes.c_char_p(b"payload"), ctypes.c_uint(0))
    with open("/bin/true", "rb") as source:
        os.write(fd, source.read())
    argv = (ctypes.c_char_p * 2)(b"payload", None)
    envp = (ctypes.c_char_p * 1)(None)
    return _syscall("execveat", ctypes.c_int(fd), ctypes.c_char_p(b""), argv, envp, ctypes.c_int(_AT_EMPTY_PATH))


def _kernel_call(name: str, pid: int) -> int:
    """One call into a kernel surface the sandbox shuts: the arguments are valid enough to reach it."""
    buffer = ctypes.create_string_buffer(256)
    if name == "ptrace":
        return _syscall("ptrace", ctypes.c_long(16), ctypes.c_long(pid), None, None)  # PTRACE_ATTACH
    if name == "process_vm_readv":
        iov = (ctypes.c_void_p * 2)(ctypes.addressof(buffer), 8)
        return _syscall("process_vm_readv", ctypes.c_int(pid), iov, ctypes.c_ulong(1), iov, ctypes.c_ulong(1), 0)
    if name == "keyctl":  # KEYCTL_GET_KEYRING_ID of the session keyring: the host's secrets
        return _syscall("keyctl", ctypes.c_int(0), ctypes.c_int(-3), ctypes.c_int(0))
    if name == "perf_event_open":
        struct.pack_into("<II", buffer, 0, 1, 128)  # PERF_TYPE_SOFTWARE, sizeof(struct perf_event_attr)
        return _syscall("perf_event_open", buffer, ctypes.c_int(pid), ctypes.c_int(-1), ctypes.c_int(-1), 0)
    if name == "userfaultfd":
        return _syscall("userfaultfd", ctypes.c_int(0))
    if name == "io_uring_setup":
        return _syscall("io_uring_setup", ctypes.c_uint(1), buffer)
    if name == "sethostname":  # the host's own name again: harmless if it got through, but CAP_SYS_ADMIN
        hostname = socket.gethostname().encode()
        if _libc.sethostname(hostname, len(hostname)) < 0:
            _fail("sethostname")
        return 0
    if name == "bpf":  # BPF_MAP_CREATE with a zeroed attribute
        return _syscall("bpf", ctypes.c_int(0), buffer, ctypes.c_uint(64))
    raise KeyError(name)


def _signal(how: str, pid: int) -> int:
    """Signal 0 (existence probe) by every route: a denial here is a denial of SIGKILL too."""
    if how == "kill":
        os.kill(pid, 0)
    elif how == "process_group":
        os.kill(0, 0)
    elif how == "everyone":
        os.kill(-1, 0)
    elif how == "tgkill":
        _syscall("tgkill", ctypes.c_int(pid), ctypes.c_int(pid), ctypes.c_int(0))
    elif how == "pidfd_send_signal":
        pidfd = _syscall("pidfd_open", ctypes.c_int(pid), ctypes.c_uint(0))
        try:
            _syscall("pidfd_send_signal", ctypes.c_int(pidfd), ctypes.c_int(0), None, ctypes.c_uint(0))
        finally:
            os.close(pidfd)
    else:
        raise KeyError(how)
    return 0


def _sigio(how: str, pid: int) -> str:
    """Make the kernel signal ``pid`` for us: own one end of a pair, ask for SIGIO, make it readable."""
    left, right = socket.socketpair()
    with left, right:
        if how == "fcntl":
            fcntl.fcntl(left, fcntl.F_SETOWN, pid)
        elif how == "fcntl_group":
            fcntl.fcntl(left, fcntl.F_SETOWN, -os.getpgrp())
        elif how == "ioctl":  # FIOSETOWN
            fcntl.ioctl(left, 0x8901, struct.pack("i", pid))
        else:
            raise KeyError(how)
        fcntl.fcntl(left, fcntl.F_SETFL, fcntl.fcntl(left, fcntl.F_GETFL) | os.O_ASYNC)
        right.sendall(b"wake up")
    return how


def _deprioritise(how: str, pid: int) -> Any:
    """Slow another process of the same user down: renice, pin to one CPU, idle I/O class."""
    if how == "setpriority":
        os.setpriority(os.PRIO_PROCESS, pid, 19)
    elif how == "sched_setaffinity":
        os.sched_setaffinity(pid, {0})
    elif how == "sched_setscheduler":
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
    elif how == "ioprio_set":  # IOPRIO_WHO_PROCESS, class IDLE
        _syscall("ioprio_set", ctypes.c_int(1), ctypes.c_int(pid), ctypes.c_int(3 << 13))
    else:
        raise KeyError(how)
    return how


def _sysv(kind: str, key: int) -> int:
    """Look up the host's System V object by its key (``shmget(key, 0, 0)`` and friends)."""
    get = {
        "shm": lambda: _libc.shmget(key, 0, 0),
        "msg": lambda: _libc.msgget(key, 0),
        "sem": lambda: _libc.semget(key, 0, 0),
    }
    result = int(get[kind]())
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{kind}get: {os.strerror(code)}")
    return result


def _mq_open(name: str) -> int:
    _libc.mq_open.restype = ctypes.c_int
    result = _libc.mq_open(name.encode(), os.O_RDONLY)
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mq_open: {os.strerror(code)}")
    os.close(result)
    return 0


def _read_through_symlink(link: str, target: str) -> str:
    os.symlink(target, link)
    with open(link, encoding="utf-8") as handle:
        return handle.read()


def _hard_link(source: str, link: str) -> str:
    os.link(source, link)
    with open(link, encoding="utf-8") as handle:
        return handle.read()


def _read(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read(64).hex()


def _setuid_file(path: str, how: str) -> int:
    """Leave a program that runs as the host's user behind in a granted directory."""
    if how == "create":
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o4755))
    elif how == "chmod":
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o755))
        os.chmod(path, 0o4755)
    elif how == "setgid_dir":
        os.mkdir(path, 0o2755)
    else:
        raise KeyError(how)
    return os.stat(path).st_mode


def _device_node(path: str, device: int) -> int:
    """Make a block device node for the host's disk in a granted directory (to read it raw later)."""
    os.mknod(path, 0o600 | 0o060000, device)  # S_IFBLK
    return os.stat(path).st_rdev


def _exhaust_descriptors() -> int:
    opened = []
    try:
        for _ in range(100_000):
            opened.append(os.open("/dev/null", os.O_RDONLY))
    finally:
        for fd in opened:
            os.close(fd)
    return len(opened)


def _exhaust_threads() -> int:
    stop = threading.Event()
    started: list[threading.Thread] = []
    try:
        for _ in range(100_000):
            thread = threading.Thread(target=stop.wait)
            thread.start()
            started.append(thread)
    except RuntimeError as error:  # "can't start new thread": the limit held
        raise OSError(errno.EAGAIN, f"{error} after {len(started)} threads") from None
    finally:
        stop.set()
        for thread in started:
            thread.join()
    return len(started)


def _write_bytes(path: str, size: int) -> int:
    with open(path, "wb") as handle:
        return handle.write(b"\0" * size)


def handle(operation: str, input: dict[str, Any]) -> dict[str, Any]:
    actions: dict[str, Callable[[], Any]] = {
        "unix_connect": lambda: _unix_connect(input),
        "dgram_socketpair_sendto": lambda: _dgram_socketpair_sendto(input),
        "stream_socketpair_redirect": lambda: _stream_socketpair_redirect(input),
        "socketpair_round_trip": _socketpair_round_trip,
        "socket_peers": _socket_peers,
        "descriptors": _descriptors,
        "raise_limit": lambda: _raise_limit(input["limit"]),
        "pidfd_getfd": lambda: _pidfd_getfd(input["pid"], input["fd"]),
        "memfd_exec": _memfd_exec,
        "kernel_call": lambda: _kernel_call(input["name"], input["pid"]),
        "signal": lambda: _signal(input["how"], input["pid"]),
        "sigio": lambda: _sigio(input["how"], input["pid"]),
        "deprioritise": lambda: _deprioritise(input["how"], input["pid"]),
        "sysv": lambda: _sysv(input["kind"], input["key"]),
        "mq_open": lambda: _mq_open(input["name"]),
        "read_through_symlink": lambda: _read_through_symlink(input["link"], input["target"]),
        "hard_link": lambda: _hard_link(input["source"], input["link"]),
        "read": lambda: _read(input["path"]),
        "setuid_file": lambda: _setuid_file(input["path"], input["how"]),
        "device_node": lambda: _device_node(input["path"], input["device"]),
        "exhaust_descriptors": _exhaust_descriptors,
        "exhaust_threads": _exhaust_threads,
        "write_bytes": lambda: _write_bytes(input["path"], input["size"]),
    }
    outcome: dict[str, Any] = _attempt(actions[operation])
    return outcome
