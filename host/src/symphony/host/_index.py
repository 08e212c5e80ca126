"""A persistent index of Symphony entry points, so discovery does not rescan.

``importlib.metadata`` caches nothing: each scan reads every distribution's
metadata (milliseconds per call; hundreds with a thousand packages).  The
index records, per environment, the ``symphony.*`` entry points of every
distribution plus the modification times it was built from: every ``sys.path``
entry and every ``entry_points.txt``.  A lookup re-stats those files (cheap)
and rescans only when one changed; ``use_cache=False`` bypasses the file and
:func:`clear` deletes it.

The working directory is the exception: it is on ``sys.path`` for ``python -c``
and ``python -m`` and changes all the time, so it is stamped by the names of
the distributions in it rather than by its modification time.
"""

from __future__ import annotations

import logging
import os
import sys
import zlib

# hashlib's blake2b itself: importing hashlib loads OpenSSL (~3 ms of every command).
from _blake2 import blake2b
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from ._files import write_cache

if TYPE_CHECKING:  # importlib.metadata is imported only when the index is rebuilt
    from importlib.metadata import Distribution

__all__ = ["DistributionEntry", "EntryPointIndex", "IndexedEntryPoint", "clear", "load_index"]

_log = logging.getLogger(__name__)

_FORMAT = 1
_GROUP_PREFIX = "symphony."


class IndexedEntryPoint(msgspec.Struct, frozen=True):
    group: str
    name: str
    value: str


class DistributionEntry(msgspec.Struct, frozen=True):
    """One installed distribution with Symphony entry points."""

    name: str
    version: str
    location: str
    entry_points: tuple[IndexedEntryPoint, ...]


class _Stamp(msgspec.Struct, frozen=True, array_like=True):
    path: str
    mtime_ns: int


class EntryPointIndex(msgspec.Struct, frozen=True):
    """The ``symphony.*`` entry points of one environment, with what they were read from."""

    format: int
    environment: str
    path_stamps: tuple[_Stamp, ...]
    file_stamps: tuple[_Stamp, ...]
    distributions: tuple[DistributionEntry, ...]

    def group(self, group: str) -> list[tuple[DistributionEntry, IndexedEntryPoint]]:
        """Entry points of ``group`` with their distribution, in ``sys.path`` order."""
        return [(dist, ep) for dist in self.distributions for ep in dist.entry_points if ep.group == group]


def _mtime_ns(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _distributions_in(directory: str) -> int:
    try:
        names = sorted(e.name for e in os.scandir(directory) if e.name.endswith((".dist-info", ".egg-info")))
    except OSError:
        return -1
    return zlib.crc32("\0".join(names).encode())


def _path_stamp(entry: str, cwd: str) -> _Stamp:
    if entry in ("", cwd):
        return _Stamp(entry, _distributions_in(cwd))
    return _Stamp(entry, _mtime_ns(entry))


def _environment_key(paths: Iterable[str]) -> str:
    text = "\0".join([sys.prefix, sys.version, *paths])
    return blake2b(text.encode(), digest_size=10).hexdigest()


def _cache_file(cache_dir: Path, environment: str) -> Path:
    return cache_dir / f"entry-points-{environment}.msgpack"


def _scan(paths: list[str]) -> EntryPointIndex:
    from importlib.metadata import distributions

    cwd = os.getcwd()
    seen: set[str] = set()
    file_stamps: list[_Stamp] = []
    found: list[DistributionEntry] = []
    for dist in distributions(path=[p or cwd for p in paths]):
        try:
            _add(dist, seen, file_stamps, found)
        except Exception as error:  # one distribution's unreadable metadata must not hide all the others
            where = getattr(dist, "_path", "a distribution")
            _log.warning("skipped %s: its metadata cannot be read (%s: %s)", where, type(error).__name__, error)
    return EntryPointIndex(
        format=_FORMAT,
        environment=_environment_key(paths),
        path_stamps=tuple(_path_stamp(p, cwd) for p in paths),
        file_stamps=tuple(file_stamps),
        distributions=tuple(found),
    )


def _add(dist: Distribution, seen: set[str], file_stamps: list[_Stamp], found: list[DistributionEntry]) -> None:
    """Index ``dist``'s Symphony entry points unless an earlier distribution of its name shadows it."""
    name = dist.metadata["Name"] or ""
    key = name.lower().replace("_", "-").replace(".", "-")
    if not name or key in seen:  # the first on sys.path shadows the rest, as in importlib
        return
    seen.add(key)
    location = str(getattr(dist, "_path", ""))
    if location:
        eps_file = os.path.join(location, "entry_points.txt")
        file_stamps.append(_Stamp(eps_file, _mtime_ns(eps_file)))  # so that fixing a broken file is seen
    text = dist.read_text("entry_points.txt") or ""
    if _GROUP_PREFIX not in text:
        return
    entry_points = tuple(
        IndexedEntryPoint(ep.group, ep.name, ep.value) for ep in dist.entry_points if ep.group.startswith(_GROUP_PREFIX)
    )
    if entry_points:
        found.append(DistributionEntry(name, dist.version, location, entry_points))


def _is_current(index: EntryPointIndex, paths: list[str]) -> bool:
    if index.format != _FORMAT or [s.path for s in index.path_stamps] != paths:
        return False
    cwd = os.getcwd()
    return all(_path_stamp(s.path, cwd) == s for s in index.path_stamps) and all(
        _mtime_ns(s.path) == s.mtime_ns for s in index.file_stamps
    )


_decoder = msgspec.msgpack.Decoder(EntryPointIndex)


def load_index(cache_dir: Path | None, *, use_cache: bool = True) -> EntryPointIndex:
    """The current index: from ``cache_dir`` when still valid, else a fresh scan (then saved)."""
    paths = list(sys.path)
    if not use_cache or cache_dir is None:
        return _scan(paths)
    cache_file = _cache_file(cache_dir, _environment_key(paths))
    try:
        index = _decoder.decode(cache_file.read_bytes())
        if _is_current(index, paths):
            return index
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        pass  # missing or unreadable: rebuild below
    index = _scan(paths)
    write_cache(cache_file, index)
    return index


def clear(cache_dir: Path) -> int:
    """Delete every cached index in ``cache_dir``; return how many files were removed."""
    removed = 0
    for path in cache_dir.glob("entry-points-*.msgpack"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
