"""The ``artifacts`` stale source: what the store's own collection would take, and artifacts marked stale.

``find`` is ``gc`` as a dry run (objects no root reaches and older than ``gc_grace``,
with the chunks and packs only they use), plus every marked-stale artifact that lineage
still holds as a GC root.  ``reclaim`` forgets the marked artifacts' lineage (a name
given by a user still keeps one: names are explicit), then runs ``gc``, which
re-decides everything inside its own transaction.
"""

from __future__ import annotations

import asyncio
from typing import Final

from sqlalchemy import delete, select

from symphony.hookspecs import PortUnavailableError, StaleItem, StaleSource
from symphony.hookspecs.ports import HostContext

from ..stale.marks import Marks
from ..stale.options import COMPONENT as STALE
from ..stale.options import StaleOptions
from .db import Base
from .store import ArtifactStore

__all__ = ["artifacts_source", "find_artifacts", "reclaim_artifacts"]

SOURCE: Final = "artifacts"
_UNREFERENCED: Final = "unreferenced"


def _lineage_rows(store: ArtifactStore, artifact_ids: list[str]) -> set[str]:
    """Those of ``artifact_ids`` some lineage row records as a run's output."""
    lineage = Base.metadata.tables["lineage"]
    with store.db.session(readonly=True) as session:
        return set(session.scalars(select(lineage.c.artifact_id).where(lineage.c.artifact_id.in_(artifact_ids))))


def find_artifacts(store: ArtifactStore, marks: dict[str, str]) -> list[StaleItem]:
    """Marked artifacts lineage still holds, and what ``gc`` would collect now."""
    items = [
        StaleItem(
            source=SOURCE,
            kind="marked",
            key=artifact_id,
            reason=f"marked stale ({marks[artifact_id]}); its lineage still keeps it from collection",
        )
        for artifact_id in sorted(_lineage_rows(store, list(marks)))
    ]
    report = store.gc(dry_run=True)
    if report.objects or report.chunks or report.packs:
        items.append(
            StaleItem(
                source=SOURCE,
                kind="chunks",
                key=_UNREFERENCED,
                reason=(
                    f"{len(report.objects)} artifact(s), {report.chunks} chunk(s) and {len(report.packs)} pack(s)"
                    f" no name or lineage refers to, stored over gc_grace = {store.options.gc_grace:g} s ago"
                ),
                size=report.bytes,
                detail={"objects": len(report.objects), "chunks": report.chunks, "packs": len(report.packs)},
            )
        )
    return items


def reclaim_artifacts(store: ArtifactStore, marks: dict[str, str], items: list[StaleItem]) -> list[StaleItem]:
    """Forget the still-marked artifacts' lineage, then collect; the items reclaimed."""
    marked = [item for item in items if item.kind == "marked" and item.key in marks]
    if marked:
        lineage = Base.metadata.tables["lineage"]
        with store.db.session() as session:  # lineage_inputs rows go with them (ON DELETE CASCADE)
            ids = select(lineage.c.id).where(lineage.c.artifact_id.in_([item.key for item in marked]))
            inputs = Base.metadata.tables["lineage_inputs"]
            session.execute(delete(inputs).where(inputs.c.lineage_id.in_(ids)))
            session.execute(delete(lineage).where(lineage.c.artifact_id.in_([item.key for item in marked])))
    reclaimed: list[StaleItem] = list(marked)
    if any(item.kind == "chunks" for item in items):
        report = store.gc()
        if report.objects or report.chunks or report.packs:
            reclaimed.append(
                StaleItem(
                    source=SOURCE,
                    kind="chunks",
                    key=_UNREFERENCED,
                    reason=f"{len(report.objects)} artifact(s), {report.chunks} chunk(s), {len(report.packs)} pack(s)",
                    size=report.bytes,
                    detail={"objects": len(report.objects), "chunks": report.chunks, "packs": len(report.packs)},
                )
            )
    return reclaimed


def artifacts_source(context: HostContext) -> StaleSource:
    """``artifacts``: the builtin store's unreferenced content and marked artifacts (nothing for another store)."""

    def store() -> ArtifactStore | None:
        try:
            port = context.port("artifact_store")
        except PortUnavailableError:
            return None
        return port if isinstance(port, ArtifactStore) else None

    def marks() -> dict[str, str]:
        options = StaleOptions.from_options(context.component_config(STALE).options)
        return Marks(context.data_dir / options.database).all()

    def find() -> list[StaleItem]:
        found = store()
        return [] if found is None else find_artifacts(found, marks())

    def reclaim(items: list[StaleItem]) -> list[StaleItem]:
        found = store()
        return [] if found is None else reclaim_artifacts(found, marks(), items)

    return StaleSource(
        name=SOURCE,
        description="artifact chunks nothing references, and artifacts marked stale",
        find=lambda: asyncio.to_thread(find),
        reclaim=lambda items: asyncio.to_thread(reclaim, items),
    )
