"""Landlock: the kernel denies every file access outside the granted paths, even to root.

The worker creates a ruleset that *handles* every access right its kernel's ABI
knows (so anything not granted is denied), adds one rule per granted path, and
restricts itself.  Rights added by later ABIs are handled when available:
REFER (2), TRUNCATE (3), TCP bind/connect (4), IOCTL on devices (5), and the
scopes (6) that stop the worker signalling processes outside its domain (the
host!) or reaching abstract Unix sockets.  Nothing can lift a Landlock domain.

An extension's file grants arrive as :class:`PathRule` s and get exactly the
rights of their operations (``list`` is READ_DIR alone, ``write`` has no
READ_FILE); their paths are opened without following any symlink, so a link
swapped in after the host resolved the grant grants nothing.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Iterable
from typing import Final

from symphony.hookspecs.runtimes import PathRule

from ._libc import UnavailableError, check, libc, syscall

__all__ = ["OPERATION_RIGHTS", "READ_ACCESS", "abi_version", "restrict", "rights"]

_CREATE_RULESET: Final = 444
_ADD_RULE: Final = 445
_RESTRICT_SELF: Final = 446
_OPENAT2: Final = 437  # the same number on x86_64 and aarch64
_CREATE_RULESET_VERSION: Final = 1
_RULE_PATH_BENEATH: Final = 1
_AT_FDCWD: Final = -100
_RESOLVE_NO_SYMLINKS: Final = 0x04

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_DIR, MAKE_REG, MAKE_SYM = 1 << 4, 1 << 5, 1 << 7, 1 << 8, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_ABI1_FS: Final = (1 << 13) - 1
#: Rights that make sense on a file (a rule on a file may grant only these).
_FILE_RIGHTS: Final = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ_ACCESS: Final = EXECUTE | READ_FILE | READ_DIR
#: The rights each granted file operation needs.  Sockets, FIFOs and device nodes are never
#: creatable by a grant; moving files between granted directories needs REFER.
OPERATION_RIGHTS: Final = {
    "read": READ_FILE,
    "list": READ_DIR,
    "write": WRITE_FILE | TRUNCATE,
    "create": MAKE_REG | MAKE_DIR | MAKE_SYM | REFER,
    "delete": REMOVE_FILE | REMOVE_DIR | REFER,
    "execute": EXECUTE,
}
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


class _OpenHow(ctypes.Structure):
    _fields_ = (("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64))


def _open_unfollowed(path: str) -> int | None:
    """An O_PATH descriptor of ``path`` reached through no symlink; None if it is missing or a link is on the way."""
    how = _OpenHow(flags=os.O_PATH | os.O_CLOEXEC, resolve=_RESOLVE_NO_SYMLINKS)
    try:
        return syscall(
            _OPENAT2, ctypes.c_int(_AT_FDCWD), os.fsencode(path), ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how))
        )
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return None  # nothing there to grant (yet), or not the path the host resolved: grant nothing
        raise


def _add_path(ruleset: int, path: str, access: int, *, follow: bool = True) -> None:
    if follow:
        try:
            fd: int | None = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except FileNotFoundError:
            fd = None
    else:
        fd = _open_unfollowed(path)
    if fd is None:
        return  # nothing there to grant; a later-created path stays denied
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            access &= _FILE_RIGHTS
        if not access:
            return  # e.g. 'list' on a file: nothing to grant
        attr = _PathBeneathAttr(allowed_access=access, parent_fd=fd)
        check(
            libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(attr), 0),
            f"landlock_add_rule({path!r})",
        )
    finally:
        os.close(fd)


def rights(rule: PathRule, handled: int) -> int:
    """The Landlock rights ``rule`` grants, of those this kernel handles."""
    access = 0
    for operation in rule.operations:
        access |= OPERATION_RIGHTS[operation]
    return access & handled


def restrict(
    read_paths: Iterable[str], write_paths: Iterable[str], *, deny_tcp: bool, rules: Iterable[PathRule] = ()
) -> int:
    """Confine this process (and its future threads) to the paths given; returns the ABI used.

    Needs ``PR_SET_NO_NEW_PRIVS`` set first.  ``deny_tcp`` also denies every TCP
    bind and connect where the ABI can (4+), a second wall behind the network namespace.
    ``rules`` are the extension's file grants, each with only its operations' rights.
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
        for rule in rules:
            _add_path(ruleset, rule.path, rights(rule, handled), follow=False)
        check(libc.syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi
