"""The ``artifacts`` stale source: what the store's own collection would take, and artifacts marked stale.

``find`` is ``gc`` as a dry run (objects no root reaches and older than ``gc_grace``,
with the chunks and packs only they use), plus every marked-stale artifact still held
as a GC root by the lineage of a run the DAG tracker no longer knows (its run was
reclaimed).  ``reclaim`` runs ``gc`` (which re-decides everything inside its own
transaction), then forgets those lineage rows, so the next collection takes the
artifact unless a name still holds it (names are a user's, and explicit).  Lineage of a
run still recorded is kept: the run's checkpoints may need the artifact until the run
itself is past retention.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Final

from sqlalchemy import delete, select

from symphony.hookspecs import ExecutionId, NotFoundError, PortUnavailableError, StaleItem, StaleSource
from symphony.hookspecs.ports import DagTrackerPort, HostContext

from ..stale.marks import Marks
from ..stale.options import COMPONENT as STALE
from ..stale.options import StaleOptions
from .db import Base
from .store import ArtifactStore

__all__ = ["artifacts_source", "find_unreferenced"]

SOURCE: Final = "artifacts"
_UNREFERENCED: Final = "unreferenced"


def _lineage_runs(store: ArtifactStore, artifact_ids: list[str]) -> dict[str, set[str]]:
    """Marked artifact id -> the runs whose lineage records it as an output."""
    lineage = Base.metadata.tables["lineage"]
    found: dict[str, set[str]] = defaultdict(set)
    with store.db.session(readonly=True) as session:
        query = select(lineage.c.artifact_id, lineage.c.run_id).where(lineage.c.artifact_id.in_(artifact_ids))
        for artifact_id, run_id in session.execute(query):
            found[artifact_id].add(run_id)
    return found


def _forget(store: ArtifactStore, artifact_id: str, run_ids: set[str]) -> None:
    """Delete the lineage rows (and their input rows) of ``artifact_id`` produced by ``run_ids``, in one transaction."""
    lineage, inputs = Base.metadata.tables["lineage"], Base.metadata.tables["lineage_inputs"]
    rows = select(lineage.c.id).where(lineage.c.artifact_id == artifact_id, lineage.c.run_id.in_(run_ids))
    with store.db.session() as session:
        session.execute(delete(inputs).where(inputs.c.lineage_id.in_(rows)))
        session.execute(delete(lineage).where(lineage.c.artifact_id == artifact_id, lineage.c.run_id.in_(run_ids)))


def find_unreferenced(store: ArtifactStore, *, dry_run: bool) -> list[StaleItem]:
    """What ``gc`` would collect now (``dry_run``) or collected: one item, or none when there is nothing."""
    report = store.gc(dry_run=dry_run)
    if not (report.objects or report.chunks or report.packs):
        return []
    return [
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
    ]


def artifacts_source(context: HostContext) -> StaleSource:
    """``artifacts``: the builtin store's unreferenced content and marked artifacts (nothing for another store)."""

    def store() -> ArtifactStore | None:
        try:
            port = context.port("artifact_store")
        except PortUnavailableError:
            return None
        return port if isinstance(port, ArtifactStore) else None

    async def gone_runs(found: ArtifactStore) -> dict[str, tuple[str, set[str]]]:
        """Marked artifact -> (reason, runs gone from the tracker whose lineage still holds it)."""
        options = StaleOptions.from_options(context.component_config(STALE).options)
        marks = await asyncio.to_thread(Marks(context.data_dir / options.database).all)
        if not marks:
            return {}
        try:
            tracker: DagTrackerPort = context.port("dag_tracker")
        except PortUnavailableError:
            return {}  # no tracker to ask whether a run is gone: keep every lineage row
        held = await asyncio.to_thread(_lineage_runs, found, list(marks))
        known: dict[str, bool] = {}
        result = {}
        for artifact_id, run_ids in sorted(held.items()):
            for run_id in run_ids - known.keys():
                try:
                    await tracker.status(ExecutionId(run_id))
                    known[run_id] = True
                except NotFoundError:
                    known[run_id] = False
            gone = {run_id for run_id in run_ids if not known[run_id]}
            if gone:
                result[artifact_id] = (marks[artifact_id], gone)
        return result

    async def find() -> list[StaleItem]:
        found = store()
        if found is None:
            return []
        items = [
            StaleItem(
                source=SOURCE,
                kind="marked",
                key=artifact_id,
                reason=f"marked stale ({reason}); lineage of {len(runs)} reclaimed run(s) still keeps it",
                detail={"runs": sorted(runs)},
            )
            for artifact_id, (reason, runs) in (await gone_runs(found)).items()
        ]
        return items + await asyncio.to_thread(find_unreferenced, found, dry_run=True)

    async def reclaim(items: list[StaleItem]) -> list[StaleItem]:
        found = store()
        if found is None:
            return []
        reclaimed = []
        if any(item.kind == "chunks" for item in items):  # first: what is forgotten below goes next time
            reclaimed += await asyncio.to_thread(find_unreferenced, found, dry_run=False)
        still = await gone_runs(found)
        for item in items:
            if item.kind == "marked" and item.key in still:
                await asyncio.to_thread(_forget, found, item.key, still[item.key][1])
                reclaimed.append(item)
        return reclaimed

    return StaleSource(
        name=SOURCE,
        description="artifact chunks nothing references, and marked artifacts whose runs are gone",
        find=find,
        reclaim=reclaim,
    )
