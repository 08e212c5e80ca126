"""Writing files so that a crash never leaves half of one behind, with the mode a plain write would give."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the SDK itself does not import pathlib: a worker that never writes files need not load it
    from pathlib import Path

__all__ = ["atomic_write"]

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (setting it is racy across threads)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _UMASK_LOCK:
        old = os.umask(0o077)
        os.umask(old)
    return old


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename it into place.

    An existing file keeps its permission bits (not set-id or sticky) and, where allowed, its owner;
    a new one gets ``0o666 & ~umask`` like ``open()``, not ``mkstemp``'s 0600.  The directory must
    exist: creating it is the caller's decision.
    """
    try:
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None
    import tempfile  # here, not at the top: with shutil and random it costs milliseconds every worker would pay

    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            if existing is None:
                os.fchmod(handle.fileno(), 0o666 & ~_umask())
            else:
                os.fchmod(handle.fileno(), stat.S_IMODE(existing.st_mode) & 0o777)
                with contextlib.suppress(OSError):
                    os.fchown(handle.fileno(), existing.st_uid, existing.st_gid)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; a filesystem that cannot sync a directory only loses that."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
