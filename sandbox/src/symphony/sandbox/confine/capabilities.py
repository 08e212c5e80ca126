"""Drop every capability: a worker keeps none, in its own user namespace or (without one) on the host.

Without a user namespace (a kernel without them, in ``weaker_allowed`` mode), a
worker of a root host is real root: ``CAP_MKNOD`` would let it make a device
node for the host's disk in a granted directory, ``CAP_SYS_TIME`` set the
host's clock, ``CAP_CHOWN`` give its files away.  Inside its own user
namespace it would still hold every capability over that namespace.  Clearing
the effective, permitted, inheritable and ambient sets ends both; with
``PR_SET_NO_NEW_PRIVS`` set, no later ``execve`` can give any back.
"""

from __future__ import annotations

import ctypes
from typing import Final

from ._libc import ARCH, check, libc, syscall

__all__ = ["drop_all"]

_CAPSET: Final = {"x86_64": 126, "aarch64": 91}
_LINUX_CAPABILITY_VERSION_3: Final = 0x20080522
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4


class _Header(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _Data(ctypes.Structure):
    _fields_ = (("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32))


def drop_all() -> None:
    """Clear this process's capability sets (all threads must do it; call while single-threaded)."""
    check(libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT_CLEAR_ALL)")
    header = _Header(version=_LINUX_CAPABILITY_VERSION_3, pid=0)
    data = (_Data * 2)()  # version 3: two 32-bit words per set, all zero
    syscall(_CAPSET[ARCH], ctypes.byref(header), data)
