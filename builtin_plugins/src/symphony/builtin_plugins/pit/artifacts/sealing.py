"""How a chunk is named and sealed before it reaches a pack (plain here; AES-GCM in crypto.py)."""

from __future__ import annotations

import hashlib
from typing import Protocol, TypeAlias

__all__ = ["Bytes", "PlainSealer", "Sealer"]

#: Bytes or a view of them: chunks are views of the block they were cut from, sealed and written without a copy.
Bytes: TypeAlias = bytes | memoryview


class Sealer(Protocol):
    """Names chunks convergently (equal chunks, equal ids) and seals them for storage."""

    name: str
    key_id: str | None

    def chunk_id(self, data: Bytes) -> str: ...

    def seal(self, chunk_id: str, data: Bytes) -> Bytes: ...

    def open(self, chunk_id: str, sealed: bytes) -> bytes: ...

    def open_into(self, chunk_id: str, sealed: memoryview, out: memoryview) -> None:
        """Open ``sealed`` into ``out``, exactly as long as the chunk (a read fills one buffer, copying nothing)."""
        ...


class PlainSealer:
    """No encryption: a chunk's id is its SHA-256, which the store checks on read."""

    name = "plain"
    key_id: str | None = None

    def chunk_id(self, data: Bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def seal(self, chunk_id: str, data: Bytes) -> Bytes:
        return data

    def open(self, chunk_id: str, sealed: bytes) -> bytes:
        return sealed

    def open_into(self, chunk_id: str, sealed: memoryview, out: memoryview) -> None:
        out[:] = sealed
