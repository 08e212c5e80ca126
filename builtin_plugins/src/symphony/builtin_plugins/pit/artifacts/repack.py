"""Repacking: ``gc`` rewrites a pack most of whose bytes no chunk row uses any more, so its garbage is reclaimed.

``gc`` keeps a pack whole while any chunk in it is used; a pack whose live chunks fill less than
``repack_below`` of it (and older than ``gc_grace``) has them copied, still sealed (a chunk's seal binds
its id, not its place), into a new pack; one transaction records the new pack, moves the chunk rows to
it and marks the old pack doomed with a fresh ``created_at``.  The old file is deleted by the first ``gc``
after ``gc_grace`` (its rows gone, it is collected like any unused pack), so a reader that looked a chunk
up in it just before the move can still read it.  A crash before the commit leaves an orphan new pack
(``gc`` deletes it); after it, only the doomed pack waiting for its grace period.  Each chunk is checked
against its id on the way, and a pack with a damaged chunk is left as it is for ``verify`` to report.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from symphony.hookspecs import NotFoundError

from .errors import ArtifactCorruptError
from .packs import PackWriter, pack_key, read_header

if TYPE_CHECKING:
    from .store import ArtifactStore

__all__ = ["repack", "sparse_packs"]

_SPARSE = (
    "SELECT packs.id, packs.size, coalesce(sum(chunks.sealed_length), 0) FROM packs"
    " LEFT JOIN chunks ON chunks.pack = packs.id WHERE packs.state = 'live' AND packs.created_at < ?"
    " AND packs.sealer = ? AND packs.key_id IS ? GROUP BY packs.id"
)
_ROWS = 'SELECT id, "offset", length, sealed_length FROM chunks WHERE pack = ? ORDER BY "offset"'
_MOVE = 'UPDATE chunks SET pack = ?, "offset" = ? WHERE id = ? AND pack = ?'
_ADD_PACK = "INSERT INTO packs (id, key_id, sealer, size, created_at, state) VALUES (?, ?, ?, ?, ?, 'live')"
_DOOM = "UPDATE packs SET state = 'doomed', created_at = ? WHERE id = ? AND state = 'live'"


def sparse_packs(store: ArtifactStore, cutoff: float) -> list[tuple[str, int]]:
    """The packs older than ``cutoff`` worth rewriting, with the bytes rewriting each would free.

    Only packs sealed as the store seals now: others wait for ``rekey``, which rewrites them anyway.
    """
    with store.db.connection(readonly=True) as connection:
        rows = connection.execute(_SPARSE, (cutoff, store.sealer.name, store.sealer.key_id)).fetchall()
    return [
        (pack_id, size - live)
        for pack_id, size, live in sorted(rows)
        if live < store.options.repack_below * size and size - live > 0
    ]


def repack(store: ArtifactStore, pack_id: str) -> bool:
    """Move ``pack_id``'s live chunks to a new pack and doom it; False when a damaged chunk kept it as it is."""
    with store.db.connection(readonly=True) as connection:
        rows = connection.execute(_ROWS, (pack_id,)).fetchall()
    try:
        header, _ = read_header(store.backend, pack_id)
        pack = memoryview(store.backend.read(pack_key(pack_id)))  # bounded by the pack size, like rekey's read
    except (ArtifactCorruptError, NotFoundError):
        return False
    writer = PackWriter(store.backend, header.sealer, header.key_id)
    for chunk_id, offset, length, sealed_length in rows:
        sealed = pack[offset : offset + sealed_length]
        try:
            data = store.sealer.open(chunk_id, bytes(sealed))
            if len(data) != length or store.sealer.chunk_id(data) != chunk_id:
                raise ArtifactCorruptError(f"chunk {chunk_id}", pack_key(pack_id))
        except ArtifactCorruptError:
            return False
        writer.add(chunk_id, length, sealed)
    written = writer.flush() if len(writer) else None  # outside the transaction: writers wait for no write
    with store.db.connection() as connection:
        if written is not None:
            new_id, new_header, body = written
            size = body + sum(entry.sealed_length for entry in new_header.chunks)
            connection.execute(_ADD_PACK, (new_id, new_header.key_id, new_header.sealer, size, new_header.created_at))
            connection.executemany(_MOVE, [(new_id, body + e.offset, e.chunk_id, pack_id) for e in new_header.chunks])
        connection.execute(_DOOM, (time.time(), pack_id))
    return True
