"""``verify --repair``: chunk rows index.db lost are rebuilt from the pack headers, which list every chunk.

Packs are self-describing (packs.py), so when an object lists a chunk no row locates (index.db restored
from an older backup, or rows lost), the chunk may still be in a pack: a recorded one, or an orphan (a pack
whose writer died before recording it, or whose row is gone).  Repair reads the headers, checks each wanted
chunk's bytes against its id, and records the rows (and the pack row of an adopted orphan) in one
transaction.  Only orphans older than ``gc_grace`` are adopted: a younger one may be a writer's pack about to
be recorded by that writer.  Content no pack holds cannot be rebuilt: ``verify`` still reports it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import msgspec

from symphony.hookspecs import NotFoundError

from .errors import ArtifactCorruptError
from .maintenance import stored_packs
from .packs import pack_key, read_header

if TYPE_CHECKING:
    from .store import ArtifactStore

__all__ = ["RepairReport", "repair"]

_ADD_PACK = (
    "INSERT INTO packs (id, key_id, sealer, size, created_at, state) VALUES (?, ?, ?, ?, ?, 'live')"
    " ON CONFLICT (id) DO NOTHING"
)
_ADD_CHUNK = (
    'INSERT INTO chunks (id, pack, "offset", length, sealed_length) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING'
)


class RepairReport(msgspec.Struct, frozen=True, kw_only=True):
    chunks: int  # chunk rows rebuilt from pack headers
    packs: list[str]  # orphan packs adopted (recorded again) because they hold such chunks


def _wanted(store: ArtifactStore) -> tuple[set[str], dict[str, str]]:
    """The chunk ids objects list that no row locates, and the state of each recorded pack."""
    with store.db.connection(readonly=True) as connection:
        located = {chunk_id for (chunk_id,) in connection.execute("SELECT id FROM chunks")}
        listed: set[str] = set()
        for (encoded,) in connection.execute("SELECT chunk_ids FROM objects WHERE inline IS NULL"):
            listed.update(msgspec.msgpack.decode(encoded))
        recorded = dict(connection.execute("SELECT id, state FROM packs").fetchall())
    return listed - located, recorded


def repair(store: ArtifactStore) -> RepairReport:
    """Rebuild the rows of chunks objects need from the packs that hold them; what was rebuilt."""
    wanted, recorded = _wanted(store)
    cutoff = time.time() - store.options.gc_grace
    rows: list[tuple[str, str, int, int, int]] = []
    adopted: list[tuple[str, str | None, str, int, float]] = []
    for pack_id in sorted(stored_packs(store)) if wanted else []:
        try:
            header, body = read_header(store.backend, pack_id)
        except (ArtifactCorruptError, NotFoundError):
            continue
        entries = [entry for entry in header.chunks if entry.chunk_id in wanted]
        if not entries or recorded.get(pack_id) == "doomed":  # doomed: being deleted (gc, repack, rekey)
            continue
        if pack_id not in recorded and header.created_at >= cutoff:
            continue
        if (header.sealer, header.key_id) != (store.sealer.name, store.sealer.key_id):
            continue  # sealed under another key: rekey with that key first
        data = store.backend.read(pack_key(pack_id))
        found = []
        for entry in entries:
            sealed = data[body + entry.offset : body + entry.offset + entry.sealed_length]
            try:
                plain = store.sealer.open(entry.chunk_id, sealed)
            except ArtifactCorruptError:
                continue
            if len(plain) == entry.length and store.sealer.chunk_id(plain) == entry.chunk_id:
                found.append((entry.chunk_id, pack_id, body + entry.offset, entry.length, entry.sealed_length))
                wanted.discard(entry.chunk_id)
        if found and pack_id not in recorded:
            adopted.append((pack_id, header.key_id, header.sealer, len(data), header.created_at))
        rows += found
    if rows:
        with store.db.connection() as connection:
            connection.executemany(_ADD_PACK, adopted)
            connection.executemany(_ADD_CHUNK, rows)
    return RepairReport(chunks=len(rows), packs=[pack_id for pack_id, *_ in adopted])
