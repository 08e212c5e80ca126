"""A private user, network and IPC namespace: the worker keeps no network and no shared IPC.

``unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC)`` moves the calling
(single-threaded) process into a new network namespace with only a loopback
interface, which is down: every connect fails, to the internet and to the
host's own loopback services alike; abstract Unix socket names live in the
network namespace too, so the host's are out of reach.  The IPC namespace
holds the System V shared memory, message queues and semaphores and the POSIX
message queues: the worker starts with none and cannot look up the host's by
key or name (it shares the host's uid, which would otherwise pass their
permission checks).  The user namespace makes this possible without privileges and
also drops, when the host runs as root, every capability the worker had over
the host's namespaces.  The worker's uid/gid map to the caller's own.
"""

from __future__ import annotations

import os

from ._libc import UnavailableError, check, libc

__all__ = ["CLONE_NEWIPC", "CLONE_NEWNET", "CLONE_NEWUSER", "enter_private_network"]

CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def enter_private_network() -> None:
    """Unshare user, network and IPC namespaces; raises UnavailableError if the kernel refuses."""
    uid, gid = os.geteuid(), os.getegid()
    try:
        check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC), "unshare(NEWUSER|NEWNET|NEWIPC)")
    except OSError as error:
        raise UnavailableError(
            error.errno or 0, f"{error.strerror} (user namespaces disabled, or the worker is multi-threaded)"
        ) from None
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
