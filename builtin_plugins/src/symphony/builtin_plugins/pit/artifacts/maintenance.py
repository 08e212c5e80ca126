"""``verify`` and ``gc``: walk the whole store, report every problem with its fix, and reclaim what no root reaches.

Both are safe while other processes write.  ``gc`` decides and deletes rows inside one
``BEGIN IMMEDIATE`` transaction, so no put commits in between; it spares every object and
pack younger than ``gc_grace`` (a writer may not have named or recorded it yet) and deletes a
pack file only after its rows are gone, so a crash leaves an orphan file, never a dangling row.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import delete, select

from symphony.hookspecs import NotFoundError

from .backend import LocalBackend
from .db import ChunkRow, ObjectRow, PackRow
from .errors import ArtifactCorruptError
from .packs import pack_key, read_header
from .repack import repack, sparse_packs

if TYPE_CHECKING:
    from .store import ArtifactStore

__all__ = ["GcReport", "Problem", "collect", "stored_packs", "verify"]

_BATCH = 10_000


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # orphan-pack, missing-pack, damaged-pack, corrupt-chunk, missing-chunk, corrupt-object
    subject: str  # the pack key, chunk id or artifact id concerned
    detail: str
    fix: str


class GcReport(msgspec.Struct, frozen=True, kw_only=True):
    dry_run: bool
    objects: list[str]  # the artifacts removed (or, in a dry run, that would be)
    chunks: int
    packs: list[str]
    bytes: int  # pack and inline bytes freed
    #: Packs mostly garbage whose live chunks were moved to new packs (repack.py); freed by a gc after gc_grace.
    repacked: list[str] = msgspec.field(default_factory=list)


def stored_packs(store: ArtifactStore) -> set[str]:
    """The ids of the pack files the backend holds."""
    ids = {key: key.rsplit("/", 1)[-1].removesuffix(".pack") for key in store.backend.keys("packs")}
    return {pack_id for key, pack_id in ids.items() if key == pack_key(pack_id)}  # not stray files


def _orphans(store: ArtifactStore, recorded: set[str], cutoff: float) -> list[str]:
    """Pack files no row records, older than the grace period: their writer was killed before recording them."""
    found = []
    for pack_id in sorted(stored_packs(store) - recorded):
        try:
            created_at = read_header(store.backend, pack_id)[0].created_at
        except (ArtifactCorruptError, NotFoundError):
            created_at = 0.0  # unreadable and unrecorded: nothing can refer to it
        if created_at < cutoff:
            found.append(pack_id)
    return found


def _still_recorded(store: ArtifactStore, pack_id: str) -> bool:
    with store.db.session(readonly=True) as session:
        return session.get(PackRow, pack_id) is not None


def _check_pack(store: ArtifactStore, pack_id: str, rows: list[ChunkRow]) -> list[Problem]:
    key = pack_key(pack_id)
    try:
        header, body = read_header(store.backend, pack_id)
        data = store.backend.read(key)
    except ArtifactCorruptError as error:
        return [Problem(kind="damaged-pack", subject=key, detail=str(error), fix=f"Restore {key} from a backup.")]
    listed = {(e.chunk_id, body + e.offset, e.sealed_length) for e in header.chunks}
    problems = []
    for row in rows:
        try:
            if (row.id, row.offset, row.sealed_length) not in listed:
                raise ArtifactCorruptError(f"chunk {row.id}", f"{key} (its header does not list it there)")
            store.check_chunk(row, store.sealer.open(row.id, data[row.offset : row.offset + row.sealed_length]))
        except ArtifactCorruptError as error:
            problems.append(
                Problem(
                    kind="corrupt-chunk",
                    subject=row.id,
                    detail=f"{key} offset {row.offset}: {error}",
                    fix=f"Restore {key} from a backup (packs never change once written, so any copy is good).",
                )
            )
    return problems


def verify(store: ArtifactStore) -> list[Problem]:
    """Every damaged, missing or orphaned pack, chunk and object, each with what to do about it."""
    cutoff = time.time() - store.options.gc_grace
    with store.db.session(readonly=True) as session:
        recorded = set(session.scalars(select(PackRow.id)))
        by_pack: dict[str, list[ChunkRow]] = defaultdict(list)
        for row in session.scalars(select(ChunkRow)):
            by_pack[row.pack].append(row)
        objects = [(row.id, row.chunk_ids) for row in session.scalars(select(ObjectRow))]
        session.expunge_all()
    problems = [
        Problem(
            kind="orphan-pack",
            subject=pack_key(pack_id),
            detail="no index row records this pack: its writer stopped before recording it",
            fix="Run `symphony artifacts gc` to delete it.",
        )
        for pack_id in _orphans(store, recorded, cutoff)
    ]
    stored, bad = stored_packs(store), set()
    for pack_id in sorted(recorded | set(by_pack)):
        if pack_id in stored:
            found = _check_pack(store, pack_id, by_pack[pack_id])
            bad |= {row.id for row in by_pack[pack_id]} if any(p.kind == "damaged-pack" for p in found) else set()
            bad |= {problem.subject for problem in found}
            problems += found
        elif _still_recorded(store, pack_id):  # not collected meanwhile by a concurrent gc
            bad |= {row.id for row in by_pack[pack_id]}
            problems.append(
                Problem(
                    kind="missing-pack",
                    subject=pack_key(pack_id),
                    detail=f"the pack holding {len(by_pack[pack_id])} chunks is gone",
                    fix=f"Restore {pack_key(pack_id)} from a backup.",
                )
            )
    located = {row.id for rows in by_pack.values() for row in rows}
    for artifact_id, encoded in objects:
        chunk_ids = set(msgspec.msgpack.decode(encoded))
        if chunk_ids - located:
            problems.append(
                Problem(
                    kind="missing-chunk",
                    subject=artifact_id,
                    detail=f"{len(chunk_ids - located)} of its chunks are in no pack",
                    fix="Store the artifact's content again, or restore the store from a backup.",
                )
            )
        elif chunk_ids & bad:
            continue  # already reported through its chunks
        else:
            try:
                for _ in store.iter_sync(artifact_id):
                    pass
            except NotFoundError:
                continue  # collected meanwhile
            except ArtifactCorruptError as error:
                problems.append(
                    Problem(
                        kind="corrupt-object",
                        subject=artifact_id,
                        detail=str(error),
                        fix="Store the artifact's content again, or restore index.db from a backup.",
                    )
                )
    return problems


def collect(store: ArtifactStore, *, dry_run: bool) -> GcReport:
    """Remove objects no root reaches (and older than the grace period), then chunks and packs none uses."""
    cutoff = time.time() - store.options.gc_grace
    with store.db.session(readonly=dry_run) as session:
        roots = {artifact_id for provider in store.root_providers for artifact_id in provider()}
        dead, live, freed = [], set(), 0
        for artifact_id, created_at, encoded, inline in session.execute(
            select(ObjectRow.id, ObjectRow.created_at, ObjectRow.chunk_ids, ObjectRow.inline)
        ):
            if artifact_id in roots or created_at >= cutoff:
                live.update(msgspec.msgpack.decode(encoded))
            else:
                dead.append(artifact_id)
                freed += len(inline or b"")
        packs = {row.id: row for row in session.scalars(select(PackRow))}
        young_packs = {pack_id for pack_id, row in packs.items() if row.created_at >= cutoff}
        kept: set[str] = set()
        doomed_chunks = []
        for chunk_id, pack_id in session.execute(select(ChunkRow.id, ChunkRow.pack)):
            if chunk_id in live or pack_id in young_packs:
                kept.add(pack_id)
            else:
                doomed_chunks.append(chunk_id)
        doomed_packs = sorted(
            pack_id for pack_id, row in packs.items() if pack_id not in kept and row.created_at < cutoff
        )
        freed += sum(packs[pack_id].size for pack_id in doomed_packs)
        if not dry_run:
            for start in range(0, max(len(dead), len(doomed_chunks), len(doomed_packs)), _BATCH):
                session.execute(delete(ObjectRow).where(ObjectRow.id.in_(dead[start : start + _BATCH])))
                session.execute(delete(ChunkRow).where(ChunkRow.id.in_(doomed_chunks[start : start + _BATCH])))
                session.execute(delete(PackRow).where(PackRow.id.in_(doomed_packs[start : start + _BATCH])))
        orphans = _orphans(store, set(packs), cutoff)
    if not dry_run:
        for pack_id in doomed_packs + orphans:  # rows gone first: a crash here leaves orphans for the next gc
            store.backend.delete(pack_key(pack_id))
        if isinstance(store.backend, LocalBackend):
            store.backend.sweep_temporaries(cutoff)
    sparse = [] if store.options.repack_below <= 0 else [pack_id for pack_id, _ in sparse_packs(store, cutoff)]
    repacked = sparse if dry_run else [pack_id for pack_id in sparse if repack(store, pack_id)]
    return GcReport(
        dry_run=dry_run,
        objects=dead,
        chunks=len(doomed_chunks),
        packs=doomed_packs + orphans,
        bytes=freed,
        repacked=repacked,
    )
