"""Stale sources of the DAG tracker's state: ``node-cache`` (cached node outputs) and ``runs`` (finished runs, logs).

``node-cache``: an entry is stale when the contribution it ran is no longer installed,
or the version recorded in its lineage (the artifact store's) differs from the one
installed now; when its outputs, or one of the inputs its lineage records, were marked
stale; and, by the ``cache`` rule, when a newer entry of the same workflow node
supersedes it (its configuration or inputs changed) or it is older than the maximum age.

``runs``: a finished run (succeeded, failed or cancelled) is stale once it finished
longer ago than the ``runs`` retention: its checkpoints and log go together.  A log
file alone is stale once its run finished longer ago than the ``logs`` retention, or
(for a log whose run record is gone) once it was last written that long ago.  A run
still going, or interrupted (resumable, not finished), is never stale.

Both re-check what they were given when reclaiming and delete rows in one transaction.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Final

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from symphony.hookspecs import PortUnavailableError, StaleItem, StaleSource
from symphony.hookspecs.ports import HostContext

from ..stale.marks import Marks
from ..stale.options import COMPONENT as STALE
from ..stale.options import StaleOptions
from .cache import contribution_version
from .checkpoints import CacheRecord, CheckpointStore, NodeRecord, RunRecord
from .options import TrackerOptions

__all__ = ["cache_source", "dag_stale_sources", "runs_source"]

FINISHED: Final = ("succeeded", "failed", "cancelled")
#: Keys per statement: well under SQLite's limit on a statement's parameters.
_BATCH: Final = 500

#: Run ids -> (run id, node id) -> (the node's outputs artifact id, the contribution version, the input artifact ids).
Lineages = Callable[[list[str]], Mapping[tuple[str, str], tuple[str, str | None, list[str]]]]


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _path(log: Path | None) -> str | None:
    return None if log is None else str(log)


def _store(database: Path) -> CheckpointStore | None:
    """The run database, or None when there is none yet (finding writes nothing)."""
    return CheckpointStore(database) if database.exists() else None


def _batches(values: list[str]) -> Iterator[list[str]]:
    """``values`` in slices small enough for one statement's SQLite parameters."""
    for start in range(0, len(values), _BATCH):
        yield values[start : start + _BATCH]


class _Context:
    """What the DAG's sources read from the host, each time they run (settings and plugins may change)."""

    def __init__(self, context: HostContext) -> None:
        self.context = context

    @property
    def database(self) -> Path:
        options = TrackerOptions.from_options(self.context.component_config("dag").options)
        return self.context.data_dir / options.database

    @property
    def options(self) -> StaleOptions:
        return StaleOptions.from_options(self.context.component_config(STALE).options)

    def installed(self) -> dict[str, set[str | None]]:
        """Every installed operator and instrument name -> the contributing distribution versions."""
        found: dict[str, set[str | None]] = {}
        for hook in ("symphony_operators", "symphony_instruments"):
            for name, (plugin, spec) in self.context.contributions(hook).items():
                found.setdefault(name, set()).add(contribution_version(plugin, getattr(spec, "extension", None)))
        return found

    def lineage(self) -> Lineages | None:
        """What the builtin artifact store's lineage says each run's nodes produced (None: no lineage kept)."""
        try:
            store = self.context.port("artifact_store")
        except PortUnavailableError:
            return None
        from .run import catalog_of

        catalog = catalog_of(store)
        if catalog is None:
            return None
        from ..artifacts.db import Base

        table = Base.metadata.tables["lineage"]
        columns = table.c.run_id, table.c.node_id, table.c.artifact_id, table.c.contribution_version, table.c.inputs

        def produced(run_ids: list[str]) -> dict[tuple[str, str], tuple[str, str | None, list[str]]]:
            found = {}
            with catalog.database.session(readonly=True) as session:
                for batch in _batches(run_ids):
                    for run_id, node_id, artifact_id, version, inputs in session.execute(
                        select(*columns).where(table.c.run_id.in_(batch))
                    ):
                        found[run_id, node_id] = (artifact_id, version, list(inputs or ()))
            return found

        return produced

    def marks(self) -> dict[str, str]:
        return Marks(self.context.data_dir / self.options.database).all()


# -- node-cache ---------------------------------------------------------------------------


def find_cache(
    store: CheckpointStore,
    options: StaleOptions,
    *,
    installed: Mapping[str, set[str | None]],
    lineage: Lineages | None,
    marks: Mapping[str, str],
    now: float,
) -> list[StaleItem]:
    """The stale node cache entries (see the module docstring)."""
    query = select(
        CacheRecord.key,
        CacheRecord.uses,
        CacheRecord.run_id,
        CacheRecord.node_id,
        CacheRecord.created_at,
        CacheRecord.outputs_ref,
        func.coalesce(func.length(CacheRecord.outputs), 0),
        RunRecord.workflow_id,
    ).outerjoin(RunRecord, RunRecord.id == CacheRecord.run_id)
    with Session(store.engine) as session:
        rows = session.execute(query.order_by(CacheRecord.created_at.desc(), CacheRecord.key)).all()
    rule = options.cache_rule
    newest: dict[tuple[str, str], str] = {}
    produced = {} if lineage is None else lineage(sorted({row[2] for row in rows}))
    items = []
    for key, uses, run_id, node_id, created_at, ref, size, workflow_id in rows:
        reason = None
        entry = produced.get((run_id, node_id))
        recorded = None if entry is None else entry[1]
        outputs = ref or (None if entry is None else entry[0])
        versions = installed.get(uses)
        if versions is None:
            reason = f"contribution {uses!r} is no longer installed" + (f" (was {recorded})" if recorded else "")
        elif entry is not None and recorded not in versions:
            now_installed = " or ".join(sorted(str(v) for v in versions))
            reason = f"contribution {uses!r} was {recorded} when cached and is {now_installed} now"
        elif outputs is not None and outputs in marks:
            reason = f"its outputs {outputs} were marked stale: {marks[outputs]}"
        elif marked_input := next((i for i in (() if entry is None else entry[2]) if i in marks), None):
            reason = f"its input {marked_input} was marked stale: {marks[marked_input]}"
        elif rule.keep == "current" and workflow_id is not None:
            current = newest.setdefault((workflow_id, node_id), key)
            if current != key:
                reason = (
                    f"superseded by the newer entry {current[:12]} of workflow {workflow_id!r} node {node_id!r}"
                    " (its configuration or inputs changed)"
                )
        elif rule.keep == "age" and rule.max_age is not None and now - created_at > rule.max_age:
            reason = f"cached {_ago(now - created_at)} ago, older than cache = {options.cache!r}"
        if reason is not None:
            detail = {"uses": uses, "run_id": run_id, "node_id": node_id, "created_at": created_at}
            if recorded is not None or versions is not None:
                detail |= {"recorded_version": recorded, "installed_versions": sorted(map(str, versions or ()))}
            items.append(StaleItem(source="node-cache", kind="cache", key=key, reason=reason, size=size, detail=detail))
    return items


def delete_cache(store: CheckpointStore, keys: Iterable[str]) -> None:
    """Delete the entries ``keys`` in one transaction."""
    with Session(store.engine) as session, session.begin():
        for batch in _batches(list(keys)):
            session.execute(delete(CacheRecord).where(CacheRecord.key.in_(batch)))


def cache_source(context: HostContext) -> StaleSource:
    """``node-cache``: cache entries of another contribution version, superseded, too old or marked stale."""
    host = _Context(context)

    def find() -> list[StaleItem]:
        store = _store(host.database)
        if store is None:
            return []
        try:
            return find_cache(
                store,
                host.options,
                installed=host.installed(),
                lineage=host.lineage(),
                marks=host.marks(),
                now=time.time(),
            )
        finally:
            store.close()

    def reclaim(items: list[StaleItem]) -> list[StaleItem]:
        wanted = {item.key for item in items if item.source == "node-cache"}
        still = [item for item in find() if item.key in wanted]
        store = _store(host.database)
        if store is None or not still:
            return []
        try:
            delete_cache(store, (item.key for item in still))
        finally:
            store.close()
        return still

    return StaleSource(
        name="node-cache",
        description="cached node outputs whose contribution, configuration or inputs changed",
        find=lambda: asyncio.to_thread(find),
        reclaim=lambda items: asyncio.to_thread(reclaim, items),
    )


# -- runs and logs ----------------------------------------------------------------------------


def find_runs(store: CheckpointStore, options: StaleOptions, now: float) -> list[StaleItem]:
    """Finished runs past the runs retention, and logs past the logs retention (see the module docstring)."""
    runs_keep, logs_keep = options.runs_retention, options.logs_retention
    node_bytes = (
        select(NodeRecord.run_id, func.sum(func.coalesce(func.length(NodeRecord.outputs), 0)).label("size"))
        .group_by(NodeRecord.run_id)
        .subquery()
    )
    query = (
        select(
            RunRecord.id,
            RunRecord.workflow_name,
            RunRecord.state,
            RunRecord.finished_at,
            func.length(RunRecord.document)
            + func.length(RunRecord.inputs)
            + func.coalesce(func.length(RunRecord.outputs), 0)
            + func.coalesce(node_bytes.c.size, 0),
        )
        .outerjoin(node_bytes, node_bytes.c.run_id == RunRecord.id)
        .order_by(RunRecord.finished_at)
    )
    with Session(store.engine) as session:
        runs = {row[0]: row[1:] for row in session.execute(query)}
    items = []
    logs = store.path.parent / "runs"
    log_files = {path.stem: path for path in logs.glob("*.log")} if logs.is_dir() else {}
    for run_id, (name, state, finished_at, size) in runs.items():
        if state not in FINISHED or finished_at is None:
            continue
        age = now - finished_at
        log = log_files.get(run_id)
        log_size = log.stat().st_size if log is not None and log.exists() else 0
        if runs_keep is not None and age > runs_keep:
            items.append(
                StaleItem(
                    source="runs",
                    kind="run",
                    key=run_id,
                    reason=f"{state} run of {name!r} finished {_ago(age)} ago, past runs = {options.runs!r}",
                    size=int(size or 0) + log_size,
                    detail={"state": state, "finished_at": finished_at, "workflow": name, "path": _path(log)},
                )
            )
        elif log is not None and logs_keep is not None and age > logs_keep:
            items.append(
                StaleItem(
                    source="runs",
                    kind="log",
                    key=run_id,
                    reason=f"log of a {state} run finished {_ago(age)} ago, past logs = {options.logs!r}",
                    size=log_size,
                    detail={"path": str(log)},
                )
            )
    if logs_keep is not None:
        for run_id, log in sorted(log_files.items()):
            if run_id in runs:
                continue
            try:
                written = log.stat().st_mtime
            except FileNotFoundError:
                continue
            if now - written > logs_keep:
                items.append(
                    StaleItem(
                        source="runs",
                        kind="log",
                        key=run_id,
                        reason=f"log of a run no longer recorded, last written {_ago(now - written)} ago",
                        size=log.stat().st_size,
                        detail={"path": str(log)},
                    )
                )
    return items


def delete_runs(store: CheckpointStore, run_ids: list[str], cutoff: float) -> list[str]:
    """Delete those of ``run_ids`` still finished before ``cutoff``, with their nodes, in one transaction."""
    doomed: list[str] = []
    with Session(store.engine) as session, session.begin():
        for batch in _batches(run_ids):
            still = RunRecord.id.in_(batch), RunRecord.state.in_(FINISHED), RunRecord.finished_at < cutoff
            found = list(session.scalars(select(RunRecord.id).where(*still)))
            session.execute(delete(NodeRecord).where(NodeRecord.run_id.in_(found)))
            session.execute(delete(RunRecord).where(RunRecord.id.in_(found)))
            doomed += found
    return doomed


def runs_source(context: HostContext) -> StaleSource:
    """``runs``: finished runs' checkpoints and logs past their retention."""
    host = _Context(context)

    def find() -> list[StaleItem]:
        store = _store(host.database)
        if store is None:
            return []
        try:
            return find_runs(store, host.options, time.time())
        finally:
            store.close()

    def reclaim(items: list[StaleItem]) -> list[StaleItem]:
        wanted = {(item.kind, item.key) for item in items if item.source == "runs"}
        store = _store(host.database)
        if store is None:
            return []
        try:
            now = time.time()
            still = [item for item in find_runs(store, host.options, now) if (item.kind, item.key) in wanted]
            retention = host.options.runs_retention
            runs = [item.key for item in still if item.kind == "run"]
            gone = set(delete_runs(store, runs, now - retention)) if runs and retention is not None else set()
        finally:
            store.close()
        reclaimed = []
        for item in still:
            if item.kind == "run" and item.key not in gone:
                continue  # resumed or changed since it was found
            if item.detail["path"] is not None:  # the log found with it (none is written once a run is finished)
                Path(item.detail["path"]).unlink(missing_ok=True)
            reclaimed.append(item)
        return reclaimed

    return StaleSource(
        name="runs",
        description="finished runs' checkpoints and logs past their retention",
        find=lambda: asyncio.to_thread(find),
        reclaim=lambda items: asyncio.to_thread(reclaim, items),
    )


def dag_stale_sources(context: HostContext) -> list[StaleSource]:
    """The DAG tracker's stale sources, for its plugin's ``symphony_stale_sources``."""
    return [cache_source(context), runs_source(context)]
