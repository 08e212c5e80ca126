"""Compiled-code cache: serialized components and modules on disk, so a warm start is a mmap.

Compiling the 18 MB CPython component takes seconds; deserializing it takes milliseconds.
An entry is keyed by the sha256 of the wasm bytes and :data:`ENGINE_FINGERPRINT` (the
Wasmtime version and the engine settings), so an upgrade or a settings change misses
instead of loading code compiled for another engine. Entries are written to a temporary
file and renamed into place, so a reader never sees half an entry and two writers race
harmlessly. A file loaded by path is remembered by (size, mtime, inode) in a small
side file, so a warm load does not even hash the wasm.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

import wasmtime
from wasmtime import component

from ._engine import ENGINE_FINGERPRINT

__all__ = ["CacheStats", "CompiledCache", "Kind", "Program"]

Kind: TypeAlias = Literal["component", "module"]
Program: TypeAlias = component.Component | wasmtime.Module


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


class CompiledCache:
    """Loads wasm through an on-disk cache of Wasmtime's serialized artefacts."""

    def __init__(self, directory: str | Path, engine: wasmtime.Engine) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.engine = engine
        self.stats = CacheStats()

    def key(self, wasm: bytes, kind: Kind) -> str:
        digest = hashlib.sha256(f"symphony-wasm/1;{kind};{ENGINE_FINGERPRINT}\n".encode())
        digest.update(wasm)
        return digest.hexdigest()

    def entry(self, key: str) -> Path:
        return self.directory / f"{key}.cwasm"

    def key_for_file(self, path: Path, kind: Kind) -> tuple[str, bytes | None]:
        """The key of the file at ``path``, and its bytes if they had to be read to hash them."""
        st = path.stat()
        stamp = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{kind}:{ENGINE_FINGERPRINT}"
        marker = self.directory / f"{hashlib.sha256(str(path.resolve()).encode()).hexdigest()}.path"
        try:
            remembered_stamp, remembered_key = marker.read_text().split("\n")[:2]
            if remembered_stamp == stamp and self.entry(remembered_key).exists():
                return remembered_key, None
        except (OSError, ValueError):
            pass
        wasm = path.read_bytes()
        key = self.key(wasm, kind)
        _atomic_write(marker, f"{stamp}\n{key}\n".encode())
        return key, wasm

    def load(self, key: str, wasm: bytes | None, kind: Kind, *, source: Path | None = None) -> tuple[Program, bool]:
        """The compiled program for ``key`` and whether it came from the cache.

        ``wasm`` may be None only when ``source`` is given (it is read on a miss).
        """
        entry = self.entry(key)
        if entry.exists():
            try:
                program = self._deserialize(entry, kind)
            except wasmtime.WasmtimeError:
                self.stats.rejected += 1
            else:
                self.stats.hits += 1
                return program, True
        self.stats.misses += 1
        if wasm is None:
            assert source is not None, "CompiledCache.load needs the wasm bytes or their source file"
            wasm = source.read_bytes()
        program = self._compile(wasm, kind)
        _atomic_write(entry, program.serialize())
        return program, False

    def _deserialize(self, entry: Path, kind: Kind) -> Program:
        if kind == "component":
            return component.Component.deserialize_file(self.engine, str(entry))
        return wasmtime.Module.deserialize_file(self.engine, str(entry))

    def _compile(self, wasm: bytes, kind: Kind) -> Program:
        if kind == "component":
            return component.Component(self.engine, wasm)
        return wasmtime.Module(self.engine, wasm)
