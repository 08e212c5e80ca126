"""One holder at a time of a registry or index directory, across threads and processes (serve, the CLI, syncs)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["DirectoryLock"]


class DirectoryLock:
    """An exclusive ``flock`` on ``<directory>/.lock``; a thread lock first, so threads queue cheaply."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / ".lock"
        self._threads = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Exclusive: the thread lock orders this process's writers, the flock the other processes' (CLI, server)."""
        with self._threads:
            descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                yield
            finally:
                os.close(descriptor)  # closing releases the flock
