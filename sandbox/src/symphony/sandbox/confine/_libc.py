"""Raw system calls through ctypes: the confinement APIs have no wrappers in the stdlib."""

from __future__ import annotations

import ctypes
import os
import platform
from typing import Any, Final

__all__ = ["ARCH", "ConfinementError", "UnavailableError", "check", "libc", "syscall"]

#: ``x86_64`` or ``aarch64``: the two architectures whose syscall numbers we know.
ARCH: Final = platform.machine()

libc: Final = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.prctl.restype = ctypes.c_int


class ConfinementError(OSError):
    """Applying a mechanism failed part-way; the worker must not run the extension."""


class UnavailableError(ConfinementError):
    """The kernel (or this architecture) does not offer a mechanism at all."""


def syscall(number: int, *args: Any) -> int:
    """``syscall(2)``; returns the result or raises OSError with the errno."""
    result = int(libc.syscall(ctypes.c_long(number), *args))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def check(result: int, what: str) -> int:
    """Raise OSError naming ``what`` if a libc call returned -1."""
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result
