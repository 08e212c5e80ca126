"""Compiled-code cache: serialized components and modules on disk, so a warm start is a mmap.

Compiling the 18 MB CPython component takes seconds; deserializing it takes milliseconds.
An entry is keyed by the sha256 of the wasm bytes and :data:`ENGINE_FINGERPRINT` (the
Wasmtime version and the engine settings), so an upgrade or a settings change misses
instead of loading code compiled for another engine. Entries are written to a temporary
file and renamed into place, so a reader never sees half an entry and two writers race
harmlessly. A file loaded by path is remembered by (size, mtime, inode) in a small
side file (with its kind), so a warm load neither reads nor hashes the wasm.

Deserialized programs are also kept in memory (:class:`ProgramMemory`, shared by every
runtime on one engine), keyed by the entry's identity on disk, so starting an extension
again in the same process skips Wasmtime's deserialization (~2 ms for the CPython
component) while a rewritten or corrupted entry is still read afresh.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, TypeAlias, TypeVar

import wasmtime
from wasmtime import component

from ._engine import ENGINE_FINGERPRINT

__all__ = ["CacheStats", "CompiledCache", "Kind", "Program", "ProgramMemory"]

Kind: TypeAlias = Literal["component", "module"]
_KINDS: dict[str, Kind] = {"component": "component", "module": "module"}
Program: TypeAlias = component.Component | wasmtime.Module
_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    #: Entries that existed but could not be deserialized (corrupt or foreign) and were rebuilt.
    rejected: int = 0


def _atomic_write(path: Path, data: bytes | bytearray) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: An entry's identity on disk: its path, inode, size and mtime (a rename or rewrite changes it).
_EntryStamp: TypeAlias = tuple[str, int, int, int]


class _RecentlyUsed(Generic[_K, _V]):
    """At most ``capacity`` entries, the least recently used dropped first; shared by threads."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[_K, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _K) -> _V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: _K, value: _V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)


class ProgramMemory(_RecentlyUsed[_EntryStamp, Program]):
    """The most recently used deserialized programs of one engine, by their entry's identity on disk.

    A program is immutable compiled code that any number of stores may instantiate, so
    sharing it gives up no isolation: each instance still gets its own store and limits.
    """

    def __init__(self, capacity: int = 16) -> None:
        super().__init__(capacity)


#: The side files this process has read or written, by path and stamp: a later runtime's load skips reading them.
#: A rewritten wasm file has another stamp, so it misses here as it would on disk.
_KNOWN_FILES: _RecentlyUsed[tuple[Path, str], tuple[str, Kind]] = _RecentlyUsed(capacity=256)


def _stamp(entry: Path) -> _EntryStamp | None:
    try:
        st = entry.stat()
    except OSError:
        return None
    return (str(entry), st.st_ino, st.st_size, st.st_mtime_ns)


class CompiledCache:
    """Loads wasm through an on-disk cache of Wasmtime's serialized artefacts (and ``memory``)."""

    def __init__(self, directory: str | Path, engine: wasmtime.Engine, memory: ProgramMemory | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.engine = engine
        self.memory = memory if memory is not None else ProgramMemory()
        self.stats = CacheStats()

    def key(self, wasm: bytes, kind: Kind) -> str:
        digest = hashlib.sha256(f"symphony-wasm/1;{kind};{ENGINE_FINGERPRINT}\n".encode())
        digest.update(wasm)
        return digest.hexdigest()

    def entry(self, key: str) -> Path:
        return self.directory / f"{key}.cwasm"

    def key_for_file(
        self, path: Path, st: os.stat_result, kind_of: Callable[[bytes], Kind]
    ) -> tuple[str, Kind, bytes | None]:
        """The key and kind of the file at ``path`` (``st`` is its stat), and its bytes if they had to be read.

        ``kind_of`` tells the kind from the bytes (raising for what is not wasm); a
        remembered file is neither read nor hashed.
        """
        stamp = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{ENGINE_FINGERPRINT}"
        marker = self.directory / f"{hashlib.sha256(os.path.abspath(path).encode()).hexdigest()}.path"
        known = _KNOWN_FILES.get((marker, stamp))
        if known is not None:
            return known[0], known[1], None
        try:
            with open(marker, "rb") as remembered:
                remembered_stamp, remembered_key, remembered_kind = remembered.read().decode().split("\n")[:3]
            kind = _KINDS.get(remembered_kind)
            if remembered_stamp == stamp and kind is not None and os.path.exists(self.entry(remembered_key)):
                _KNOWN_FILES.put((marker, stamp), (remembered_key, kind))
                return remembered_key, kind, None
        except (OSError, ValueError):
            pass
        wasm = path.read_bytes()
        kind = kind_of(wasm)
        key = self.key(wasm, kind)
        _atomic_write(marker, f"{stamp}\n{key}\n{kind}\n".encode())
        _KNOWN_FILES.put((marker, stamp), (key, kind))
        return key, kind, wasm

    def load(self, key: str, wasm: bytes | None, kind: Kind, *, source: Path | None = None) -> tuple[Program, bool]:
        """The compiled program for ``key`` and whether it came from the cache.

        ``wasm`` may be None only when ``source`` is given (it is read on a miss).
        """
        entry = self.entry(key)
        stamp = _stamp(entry)
        if stamp is not None:
            try:
                remembered = self.memory.get(stamp)
                program = remembered if remembered is not None else self._deserialize(entry, kind)
            except wasmtime.WasmtimeError:
                self.stats.rejected += 1
            else:
                self.stats.hits += 1
                self.memory.put(stamp, program)
                return program, True
        self.stats.misses += 1
        if wasm is None:
            assert source is not None, "CompiledCache.load needs the wasm bytes or their source file"
            wasm = source.read_bytes()
        program = self._compile(wasm, kind)
        _atomic_write(entry, program.serialize())
        written = _stamp(entry)
        if written is not None:
            self.memory.put(written, program)
        return program, False

    def _deserialize(self, entry: Path, kind: Kind) -> Program:
        if kind == "component":
            return component.Component.deserialize_file(self.engine, str(entry))
        return wasmtime.Module.deserialize_file(self.engine, str(entry))

    def _compile(self, wasm: bytes, kind: Kind) -> Program:
        if kind == "component":
            return component.Component(self.engine, wasm)
        return wasmtime.Module(self.engine, wasm)
