"""The pool's status on disk, so ``symphony pool status`` in another process shows a live (or the last) host's pool.

Written atomically at most every ``interval`` seconds while the pool changes,
and once more on close; the writer's pid and start time tell a reader whether
that host still runs (a reused pid has a later start time).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import psutil

from symphony.hookspecs import atomic_write
from symphony.hookspecs.ports import PoolStatus

__all__ = ["Snapshot", "SnapshotWriter", "read_snapshot"]


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What a host's pool looked like at ``written_at``."""

    pid: int
    started_at: float
    written_at: float
    closed: bool = False
    status: PoolStatus = msgspec.field(default_factory=PoolStatus)

    @property
    def alive(self) -> bool:
        """Whether the writing host is still running (a closed pool's host may run, but its pool is gone)."""
        if self.closed:
            return False
        try:
            return abs(psutil.Process(self.pid).create_time() - self.started_at) < 1.0
        except psutil.Error:
            return False


def read_snapshot(path: Path) -> Snapshot | None:
    """The snapshot at ``path``; None when there is none or it cannot be read (a reader never fails on it)."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=Snapshot)
    except (OSError, msgspec.DecodeError):
        return None


class SnapshotWriter:
    """Writes ``status()`` to ``path`` at most every ``interval`` seconds after :meth:`changed`."""

    def __init__(self, path: Path, status: Callable[[], PoolStatus], interval: float = 0.5) -> None:
        self.path = path
        self._status = status
        self._interval = interval
        self._scheduled: asyncio.TimerHandle | None = None
        self._started_at = psutil.Process().create_time()

    def changed(self) -> None:
        if self._scheduled is None:
            self._scheduled = asyncio.get_running_loop().call_later(self._interval, self.write)

    def write(self, *, closed: bool = False) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        document: Any = Snapshot(
            pid=os.getpid(), started_at=self._started_at, written_at=time.time(), closed=closed, status=self._status()
        )
        with contextlib.suppress(OSError):  # a read-only data directory costs the snapshot, never the pool
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, msgspec.json.encode(document))
