"""Packs: many chunks in one backend object, so a million small chunks are not a million files.

A pack is ``MAGIC``, a 4-byte big-endian header length, a msgpack :class:`PackHeader` (which
sealer and key, and every chunk's id, offset from the body's start and lengths) and the sealed
chunks, the body.  The header
makes each pack self-describing: ``verify`` and a rebuild of index.db need the packs alone.
"""

from __future__ import annotations

import struct
import time
import uuid

import msgspec

from .backend import Backend
from .errors import ArtifactCorruptError
from .sealing import Bytes

__all__ = ["PackEntry", "PackHeader", "PackWriter", "pack_key", "read_header"]

MAGIC = b"SYMPACK1"
_PREAMBLE = struct.Struct(">8sI")


class PackEntry(msgspec.Struct, array_like=True, frozen=True):
    chunk_id: str
    offset: int
    length: int
    sealed_length: int


class PackHeader(msgspec.Struct, frozen=True):
    sealer: str
    key_id: str | None
    created_at: float
    chunks: list[PackEntry]


def pack_key(pack_id: str) -> str:
    return f"packs/{pack_id[:2]}/{pack_id}.pack"


def read_header(backend: Backend, pack_id: str) -> tuple[PackHeader, int]:
    """The pack's header and where its body starts; ArtifactCorruptError when the header is damaged."""
    key = pack_key(pack_id)
    preamble = backend.read(key, 0, _PREAMBLE.size)
    try:
        magic, length = _PREAMBLE.unpack(preamble)
        if magic != MAGIC:
            raise ValueError(magic)
        header = msgspec.msgpack.decode(backend.read(key, _PREAMBLE.size, length), type=PackHeader)
        return header, _PREAMBLE.size + length
    except (struct.error, ValueError, msgspec.DecodeError):
        raise ArtifactCorruptError(f"the header of pack {pack_id}", key) from None


class PackWriter:
    """Collects one writer's new chunks in memory until the pack is full, then writes it whole."""

    def __init__(self, backend: Backend, sealer: str, key_id: str | None) -> None:
        self._backend, self._sealer, self._key_id = backend, sealer, key_id
        self._sealed: list[Bytes] = []
        self._entries: list[tuple[str, int, int]] = []
        self.size = 0

    def add(self, chunk_id: str, length: int, sealed: Bytes) -> None:
        self._sealed.append(sealed)
        self._entries.append((chunk_id, length, len(sealed)))
        self.size += len(sealed)

    def __len__(self) -> int:
        return len(self._entries)

    def flush(self) -> tuple[str, PackHeader, int]:
        """Write the pack (all or nothing); its id, header and where its body starts. Empties the writer."""
        pack_id, entries, offset = uuid.uuid4().hex, [], 0
        for chunk_id, length, sealed_length in self._entries:
            entries.append(PackEntry(chunk_id, offset, length, sealed_length))
            offset += sealed_length
        header = PackHeader(self._sealer, self._key_id, time.time(), entries)
        encoded = msgspec.msgpack.encode(header)
        self._backend.write(pack_key(pack_id), [_PREAMBLE.pack(MAGIC, len(encoded)), encoded, *self._sealed])
        self._sealed, self._entries, self.size = [], [], 0
        return pack_id, header, _PREAMBLE.size + len(encoded)
