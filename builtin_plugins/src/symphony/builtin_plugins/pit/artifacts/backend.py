"""Where the store's files live: a Protocol so a directory and an object store share one layout."""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from symphony.hookspecs import NotFoundError, ValidationError

from .sealing import Bytes

__all__ = ["Backend", "LocalBackend"]

_IOV_MAX = 1024  # buffers per writev (os.sysconf("SC_IOV_MAX") on Linux)


class Backend(Protocol):
    """Whole-object storage under '/'-separated relative keys; a write is visible whole or not at all."""

    name: str

    def write(self, key: str, chunks: Iterable[Bytes]) -> None: ...

    def read(self, key: str, offset: int = 0, length: int | None = None) -> bytes: ...

    def read_into(self, key: str, offset: int, into: memoryview) -> int:
        """Read up to ``len(into)`` bytes at ``offset`` into ``into``; how many (fewer only at the end)."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def keys(self, prefix: str) -> Iterator[str]: ...


def _write_all(fd: int, buffers: list[Bytes]) -> None:
    """Write every byte of ``buffers`` (``writev`` may write less than asked)."""
    views = [memoryview(buffer).cast("B") for buffer in buffers]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views.pop(0))
        if views and written:
            views[0] = views[0][written:]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBackend:
    """A directory: temp file, fsync, rename, directory fsync, so a crash leaves the old state or the new."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[Path] = set()  # directories known to exist durably

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts):
            raise ValidationError(f"Invalid artifact store key {key!r}: expected '/'-separated names.")
        return self.root.joinpath(*parts)

    def write(self, key: str, chunks: Iterable[Bytes]) -> None:
        path = self._path(key)
        self._directory(path.parent)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            try:
                source = iter(chunks)
                while batch := list(itertools.islice(source, _IOV_MAX)):  # a pack's chunks in a few system calls
                    _write_all(fd, batch)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def _directory(self, path: Path) -> None:
        """Make ``path`` exist durably: each directory created is fsynced into its parent, or a crash may lose it."""
        if path in self._made:
            return
        created, missing = [], path
        while missing != self.root and not missing.is_dir():
            created.append(missing)
            missing = missing.parent
        path.mkdir(parents=True, exist_ok=True)
        for directory in created:
            _fsync_dir(directory.parent)
        self._made.add(path)

    def read(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        try:
            with self._path(key).open("rb") as file:
                file.seek(offset)
                return file.read() if length is None else file.read(length)
        except FileNotFoundError:
            raise NotFoundError(f"No {key} in the artifact store at {self.root}.") from None

    def read_into(self, key: str, offset: int, into: memoryview) -> int:
        try:
            fd = os.open(self._path(key), os.O_RDONLY)
        except FileNotFoundError:
            raise NotFoundError(f"No {key} in the artifact store at {self.root}.") from None
        try:
            done = 0
            while done < len(into) and (got := os.preadv(fd, [into[done:]], offset + done)):
                done += got
            return done
        finally:
            os.close(fd)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def sweep_temporaries(self, older_than: float) -> int:
        """Delete the temp files of writes killed mid-way, unmodified since ``older_than`` (Unix time)."""
        swept = 0
        for path in self.root.rglob(".*.tmp"):
            with contextlib.suppress(FileNotFoundError):  # finished (renamed) or swept by another process
                if path.stat().st_mtime < older_than:
                    path.unlink()
                    swept += 1
        return swept

    def keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return
        for dirpath, _, files in os.walk(base):
            for name in sorted(files):
                if not name.startswith("."):  # temp files of writes in progress (or killed)
                    yield Path(dirpath, name).relative_to(self.root).as_posix()
