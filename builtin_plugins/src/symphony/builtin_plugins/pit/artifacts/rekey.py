"""Key rotation: re-seal every pack under the store's sealer, one pack per transaction.

Run after the store is configured with the new key (so no writer names chunks under the old one),
giving the keys that sealed the old packs.  Per pack: its live chunks are opened, re-named and
re-sealed into a new pack written whole; then one transaction records the new chunks, rewrites the
objects' chunk lists, drops the old rows and marks the old pack doomed; then the old file is
deleted.  A crash before the commit leaves an orphan new pack (gc removes it) and the old one live;
after it, a doomed pack whose file a rerun deletes.  Either way a rerun resumes with the packs
still sealed under another key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import msgspec
from sqlalchemy import delete, select, update

from .db import ChunkRow, ObjectRow, PackRow, driver_connection
from .errors import ArtifactCorruptError, WrongKeyError
from .packs import PackWriter, pack_key
from .sealing import PlainSealer, Sealer
from .store import ArtifactStore

__all__ = ["RekeyReport", "rekey"]

_PREFIX = "sha256:"
_INLINE_BATCH = 1000


class RekeyReport(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str | None  # the key everything is sealed under now (None: plain)
    packs: int  # packs re-sealed by this run
    chunks: int  # chunks re-sealed
    objects: int  # objects whose chunk lists or inline content were rewritten


def _opener(pack_id: str, sealer: str, key_id: str | None, keys: Sequence[Sealer]) -> Sealer:
    for candidate in (PlainSealer(), *keys):
        if candidate.name == sealer and candidate.key_id == key_id:
            return candidate
    raise WrongKeyError(
        f"Pack {pack_id} is sealed ({sealer}) with key id {key_id}, and no key given to rekey has that id."
        " Give the key that sealed it (the old key) to `symphony artifacts rekey`, then run it again."
    )


def _remove_doomed(store: ArtifactStore) -> None:
    with store.db.session(readonly=True) as session:
        doomed = list(session.scalars(select(PackRow.id).where(PackRow.state == "doomed")))
    for pack_id in doomed:
        store.backend.delete(pack_key(pack_id))
        with store.db.session() as session:
            session.execute(delete(PackRow).where(PackRow.id == pack_id, PackRow.state == "doomed"))


def _reseal(store: ArtifactStore, pack_id: str, opener: Sealer) -> tuple[int, int]:
    """Move one pack's live chunks under the store's sealer; how many chunks and objects changed."""
    target = store.sealer
    with store.db.session(readonly=True) as session:
        chunks = list(session.scalars(select(ChunkRow).where(ChunkRow.pack == pack_id).order_by(ChunkRow.offset)))
        session.expunge_all()
    renamed: dict[str, str] = {}
    writer = PackWriter(store.backend, target.name, target.key_id)
    pack = memoryview(store.backend.read(pack_key(pack_id)))  # one read (one GET on S3), bounded by the pack size
    for chunk in chunks:
        data = opener.open(chunk.id, bytes(pack[chunk.offset : chunk.offset + chunk.sealed_length]))
        if len(data) != chunk.length or opener.chunk_id(data) != chunk.id:
            raise ArtifactCorruptError(f"chunk {chunk.id}", f"{pack_key(pack_id)} offset {chunk.offset}")
        new_id = target.chunk_id(data)
        if new_id not in renamed.values():
            writer.add(new_id, len(data), target.seal(new_id, data))
        renamed[chunk.id] = new_id
    written = writer.flush() if len(writer) else None  # outside the transaction: writers wait for no upload
    rewritten = 0
    with store.db.session() as session:
        if written is not None:
            store._record_pack(driver_connection(session), *written)
        session.execute(delete(ChunkRow).where(ChunkRow.pack == pack_id))
        for object_id, encoded in session.execute(
            select(ObjectRow.id, ObjectRow.chunk_ids).where(ObjectRow.inline.is_(None))
        ):
            ids: list[str] = msgspec.msgpack.decode(encoded)
            if any(chunk_id in renamed for chunk_id in ids):
                new_ids = msgspec.msgpack.encode([renamed.get(chunk_id, chunk_id) for chunk_id in ids])
                session.execute(update(ObjectRow).where(ObjectRow.id == object_id).values(chunk_ids=new_ids))
                rewritten += 1
        session.execute(update(PackRow).where(PackRow.id == pack_id).values(state="doomed"))
    return len(chunks), rewritten


def _unseal_inline(object_id: str, sealed: bytes, keys: Sequence[Sealer]) -> tuple[Sealer, bytes]:
    """Which sealer sealed an inline object, and its content: the one that opens it to its id's digest."""
    for candidate in keys:
        try:
            data = candidate.open(object_id, sealed)
        except (WrongKeyError, ArtifactCorruptError):
            continue
        if _PREFIX + hashlib.sha256(data).hexdigest() == object_id:
            return candidate, data
    raise WrongKeyError(
        f"Inline object {object_id} opens under no key given to rekey."
        " Give the key that sealed it (the old key) to `symphony artifacts rekey`, then run it again."
    )


def _reseal_inline(store: ArtifactStore, keys: Sequence[Sealer]) -> int:
    """Re-seal inline objects in batches (each its own transaction); how many changed."""
    target, changed, after = store.sealer, 0, ""
    openers = [target, PlainSealer(), *keys]
    while True:
        with store.db.session() as session:
            batch = list(
                session.execute(
                    select(ObjectRow.id, ObjectRow.inline)
                    .where(ObjectRow.inline.is_not(None), ObjectRow.id > after)
                    .order_by(ObjectRow.id)
                    .limit(_INLINE_BATCH)
                )
            )
            for object_id, sealed in batch:
                opener, data = _unseal_inline(object_id, sealed or b"", openers)
                if opener is not target:
                    session.execute(
                        update(ObjectRow).where(ObjectRow.id == object_id).values(inline=target.seal(object_id, data))
                    )
                    changed += 1
        if len(batch) < _INLINE_BATCH:
            return changed
        after = batch[-1][0]


def rekey(
    store: ArtifactStore, keys: Sequence[Sealer], progress: Callable[[int, int], None] | None = None
) -> RekeyReport:
    """Re-seal every live pack not sealed by ``store.sealer``, opening each with the one of ``keys`` that sealed it.

    ``progress(done, total)`` is called after each pack, for a progress bar.
    """
    target = store.sealer
    _remove_doomed(store)  # a previous run's, interrupted after its commit
    with store.db.session(readonly=True) as session:
        packs = [
            (pack_id, sealer, key_id)
            for pack_id, sealer, key_id in session.execute(
                select(PackRow.id, PackRow.sealer, PackRow.key_id).where(PackRow.state == "live")
            )
            if (sealer, key_id) != (target.name, target.key_id)
        ]
    openers = [_opener(pack_id, sealer, key_id, keys) for pack_id, sealer, key_id in packs]  # refuse before writing
    chunks, objects = 0, _reseal_inline(store, keys)
    for done, ((pack_id, _, _), opener) in enumerate(zip(packs, openers, strict=True), 1):
        resealed, rewritten = _reseal(store, pack_id, opener)
        chunks, objects = chunks + resealed, objects + rewritten
        _remove_doomed(store)
        if progress is not None:
            progress(done, len(packs))
    return RekeyReport(key_id=target.key_id, packs=len(packs), chunks=chunks, objects=objects)
