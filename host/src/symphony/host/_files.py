"""Caches written so that a crash never leaves half of one behind."""

from __future__ import annotations

import contextlib
from pathlib import Path

import msgspec

from symphony.hookspecs import atomic_write

__all__ = ["write_cache"]


def write_cache(path: Path, value: object) -> None:
    """``value`` as MessagePack, atomically; a cache that cannot be written only costs a rebuild next time."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, msgspec.msgpack.encode(value))
