"""Landlock: the kernel denies every file access outside the granted paths, even to root.

The worker creates a ruleset that *handles* every access right its kernel's ABI
knows (so anything not granted is denied), adds one rule per granted path, and
restricts itself.  Rights added by later ABIs are handled when available:
REFER (2), TRUNCATE (3), TCP bind/connect (4), IOCTL on devices (5), and the
scopes (6) that stop the worker signalling processes outside its domain (the
host!) or reaching abstract Unix sockets.  Nothing can lift a Landlock domain.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable
from typing import Final

from ._libc import UnavailableError, check, libc

__all__ = ["READ_ACCESS", "abi_version", "restrict"]

_CREATE_RULESET: Final = 444
_ADD_RULE: Final = 445
_RESTRICT_SELF: Final = 446
_CREATE_RULESET_VERSION: Final = 1
_RULE_PATH_BENEATH: Final = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_ABI1_FS: Final = (1 << 13) - 1
#: Rights that make sense on a file (a rule on a file may grant only these).
_FILE_RIGHTS: Final = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ_ACCESS: Final = EXECUTE | READ_FILE | READ_DIR
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def abi_version() -> int:
    """The kernel's Landlock ABI version, 0 if Landlock is absent or disabled."""
    result = int(libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)))
    return max(result, 0)


def _fs_rights(abi: int) -> int:
    rights = _ABI1_FS
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _add_path(ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # nothing there to grant; a later-created path stays denied
    try:
        if not os.path.isdir(path):
            access &= _FILE_RIGHTS
        attr = _PathBeneathAttr(allowed_access=access, parent_fd=fd)
        check(
            libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(attr), 0),
            f"landlock_add_rule({path!r})",
        )
    finally:
        os.close(fd)


def restrict(read_paths: Iterable[str], write_paths: Iterable[str], *, deny_tcp: bool) -> int:
    """Confine this process (and its future threads) to the paths given; returns the ABI used.

    Needs ``PR_SET_NO_NEW_PRIVS`` set first.  ``deny_tcp`` also denies every TCP
    bind and connect where the ABI can (4+), a second wall behind the network namespace.
    """
    abi = abi_version()
    if abi < 1:
        raise UnavailableError(0, "Landlock is not enabled in this kernel (needs Linux >= 5.13 with lsm=landlock)")
    handled = _fs_rights(abi)
    attr = _RulesetAttr(handled_access_fs=handled)
    size = 8
    if abi >= 4:
        size = 16
        if deny_tcp:
            attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP
    if abi >= 6:
        size = 24
        attr.scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL
    ruleset = check(
        libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)),
        "landlock_create_ruleset",
    )
    try:
        for path in read_paths:
            _add_path(ruleset, path, READ_ACCESS)
        for path in write_paths:
            _add_path(ruleset, path, handled)
        check(libc.syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi
