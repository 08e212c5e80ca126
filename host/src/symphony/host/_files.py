"""Writing files so that a crash never leaves half of one behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import msgspec

__all__ = ["atomic_write", "write_cache"]


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_cache(path: Path, value: object) -> None:
    """``value`` as MessagePack, atomically; a cache that cannot be written only costs a rebuild next time."""
    with contextlib.suppress(OSError):
        atomic_write(path, msgspec.msgpack.encode(value))
