"""Runs brought over from another store (an old ``runs.db``), written in the caller's transaction.

The importing identity owns every run imported and must be one that may start runs.  A run whose id
is present already is skipped with its checkpoints, and a cache entry whose key is present is kept,
so importing the same rows twice changes nothing.  Each imported run is audited (action ``import``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from . import audit
from .auth import Identity
from .models import NODE_CACHE, RUN_NODES, RUNS
from .problems import forbidden

__all__ = ["Imported", "import_runs"]

#: Rows per statement (and per IN list: below SQLite's parameter limit).
BATCH = 500
#: Roles that may start runs, and so import them.
_CREATORS = ("admin", "editor", "service")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import wrote: runs (and those skipped as present), checkpoints, cache entries."""

    runs: int
    skipped: int
    nodes: int
    cache_entries: int


def _batches(rows: Iterable[T]) -> Iterator[list[T]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def _present(session: Session, column: Any, keys: Sequence[str]) -> set[str]:
    return set(session.execute(select(column).where(column.in_(keys))).scalars())


def import_runs(
    session: Session,
    identity: Identity,
    runs: Iterable[dict[str, Any]],
    nodes: Iterable[dict[str, Any]],
    cache: Iterable[dict[str, Any]],
) -> Imported:
    """Insert ``runs`` (owned by ``identity``), the ``nodes`` of those inserted, and the ``cache`` entries not present.

    Rows are column dicts of the ``runs`` (without ``owner_id``), ``run_nodes`` and ``node_cache`` tables,
    read in batches so an import of any size holds a batch in memory, not the whole store.
    """
    if identity.role not in _CREATORS:
        raise forbidden(f"A {identity.role} may not start runs, so it may not import them; ask for the editor role.")
    imported: set[str] = set()
    skipped = 0
    for batch in _batches(runs):
        present = _present(session, RUNS.c.id, [row["id"] for row in batch])
        fresh = [{**row, "owner_id": identity.id} for row in batch if row["id"] not in present]
        skipped += len(batch) - len(fresh)
        if fresh:
            session.execute(insert(RUNS), fresh)
        audited = [
            (
                row["id"],
                None,
                {"id": row["id"], "workflow_id": row["workflow_id"], "state": row["state"], "owner": identity.id},
            )
            for row in fresh
        ]
        audit.record_many(session, identity, "import", "run", audited)
        imported.update(row["id"] for row in fresh)
    node_count = 0
    for batch in _batches(row for row in nodes if row["run_id"] in imported):
        session.execute(insert(RUN_NODES), batch)
        node_count += len(batch)
    cache_count = 0
    for batch in _batches(cache):
        present = _present(session, NODE_CACHE.c.key, [row["key"] for row in batch])
        fresh = [row for row in batch if row["key"] not in present]  # keys are unique in the source too
        if fresh:
            session.execute(insert(NODE_CACHE), fresh)
        cache_count += len(fresh)
    return Imported(runs=len(imported), skipped=skipped, nodes=node_count, cache_entries=cache_count)
