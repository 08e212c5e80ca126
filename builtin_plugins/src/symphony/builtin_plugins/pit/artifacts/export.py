"""Writing an artifact's content to a user's file as it is read, so a 200 GB artifact never sits in memory.

The same promise as ``symphony.hookspecs.atomic_write`` (which takes the whole content): the parts go to a
temporary file beside the target, flushed to disk, then renamed into place and the directory synced, so a
failed read (a damaged chunk found half-way) or write leaves the target as it was.  The file gets the mode
a plain write would: an existing file's permission bits, or ``0o666 & ~umask`` for a new one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["stream_to_file"]


def _umask() -> int:
    """The process umask, read from /proc without setting it (setting it is racy across threads)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def stream_to_file(path: Path, parts: Iterable[bytes]) -> int:
    """Write ``parts`` to ``path`` all or nothing; how many bytes were written."""
    try:
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    written = 0
    try:
        with os.fdopen(descriptor, "wb") as handle:
            for part in parts:
                handle.write(part)
                written += len(part)
            handle.flush()
            mode = 0o666 & ~_umask() if existing is None else stat.S_IMODE(existing.st_mode) & 0o777
            os.fchmod(handle.fileno(), mode)
            if existing is not None:
                with contextlib.suppress(OSError):
                    os.fchown(handle.fileno(), existing.st_uid, existing.st_gid)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # the rename made durable; a filesystem that cannot sync a directory
        directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return written
