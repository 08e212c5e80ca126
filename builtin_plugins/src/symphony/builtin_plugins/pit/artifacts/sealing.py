"""How a chunk is named and sealed before it reaches a pack (plain here; AES-GCM in crypto.py)."""

from __future__ import annotations

import hashlib
from typing import Protocol

__all__ = ["PlainSealer", "Sealer"]


class Sealer(Protocol):
    """Names chunks convergently (equal chunks, equal ids) and seals them for storage."""

    name: str
    key_id: str | None

    def chunk_id(self, data: bytes) -> str: ...

    def seal(self, chunk_id: str, data: bytes) -> bytes: ...

    def open(self, chunk_id: str, sealed: bytes) -> bytes: ...


class PlainSealer:
    """No encryption: a chunk's id is its SHA-256, which the store checks on read."""

    name = "plain"
    key_id: str | None = None

    def chunk_id(self, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def seal(self, chunk_id: str, data: bytes) -> bytes:
        return data

    def open(self, chunk_id: str, sealed: bytes) -> bytes:
        return sealed
