"""Stale sources of the DAG tracker's state: ``node-cache`` (cached node outputs) and ``runs`` (finished runs, logs).

Run records and the node cache are the data service's: both sources read and delete
them through port ``data_access`` only, so they work the same against the embedded
service and a remote one.  Run logs are files of this machine, ``<data_dir>/runs/``.

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

Both re-check what they were given when reclaiming: ``node-cache`` finds again;
``runs`` leaves a run's re-check to the service, which deletes it only if it still
finished before the cutoff, in the transaction that deletes it (a run resumed in
between is kept), and re-reads the run of each log it was given.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Final

from sqlalchemy import select

from symphony.hookspecs import PortUnavailableError, StaleItem, StaleSource, ValidationError
from symphony.hookspecs.ports import CacheEntry, DataAccessPort, HostContext, RunRecord, RunSummary

from ..stale.marks import Marks
from ..stale.options import COMPONENT as STALE
from ..stale.options import StaleOptions
from .cache import contribution_version

__all__ = ["cache_source", "dag_stale_sources", "runs_source"]

FINISHED: Final = ("succeeded", "failed", "cancelled")
#: Ids per request and per lineage statement: within the service's batch bound and SQLite's parameter limit.
_BATCH: Final = 500
#: Runs per listed page: the largest a data service gives by default.
_RUNS_PAGE: Final = 200

#: Run ids -> (run id, node id) -> (the node's outputs artifact id, the contribution version, the input artifact ids).
Lineages = Callable[[list[str]], Mapping[tuple[str, str], tuple[str, str | None, list[str]]]]


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _path(log: Path | None) -> str | None:
    return None if log is None else str(log)


def _batches(values: list[str]) -> Iterator[list[str]]:
    """``values`` in slices small enough for one request or statement."""
    for start in range(0, len(values), _BATCH):
        yield values[start : start + _BATCH]


class _Context:
    """What the DAG's sources read from the host, each time they run (settings and plugins may change)."""

    def __init__(self, context: HostContext) -> None:
        self.context = context

    def data(self) -> DataAccessPort | None:
        """The data service, or None when the distribution has none (then no run is recorded)."""
        try:
            port: DataAccessPort = self.context.port("data_access")
        except PortUnavailableError:
            return None
        return port

    @property
    def logs(self) -> Path:
        return self.context.data_dir / "runs"

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


async def cache_entries(data: DataAccessPort) -> list[CacheEntry]:
    """The whole node cache, newest first (page by page: a listing is bounded)."""
    entries: list[CacheEntry] = []
    cursor = None
    while True:
        page = await data.list_cache(limit=_BATCH, cursor=cursor)
        entries += page.items
        if page.next_cursor is None:
            return entries
        cursor = page.next_cursor


def find_cache(
    entries: list[CacheEntry],
    options: StaleOptions,
    *,
    installed: Mapping[str, set[str | None]],
    produced: Mapping[tuple[str, str], tuple[str, str | None, list[str]]],
    marks: Mapping[str, str],
    now: float,
) -> list[StaleItem]:
    """The stale ones of ``entries`` (newest first), given their lineage ``produced`` (see the module docstring)."""
    rule = options.cache_rule
    newest: dict[tuple[str, str], str] = {}
    items = []
    for cached in entries:
        key, uses, run_id, node_id = cached.key, cached.uses, cached.run_id, cached.node_id
        reason = None
        entry = produced.get((run_id, node_id))
        recorded = None if entry is None else entry[1]
        outputs = cached.outputs_ref or (None if entry is None else entry[0])
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
        elif rule.keep == "current" and cached.workflow_id is not None:
            current = newest.setdefault((cached.workflow_id, node_id), key)
            if current != key:
                reason = (
                    f"superseded by the newer entry {current[:12]} of workflow {cached.workflow_id!r} node {node_id!r}"
                    " (its configuration or inputs changed)"
                )
        elif rule.keep == "age" and rule.max_age is not None and now - cached.created_at > rule.max_age:
            reason = f"cached {_ago(now - cached.created_at)} ago, older than cache = {options.cache!r}"
        if reason is not None:
            detail = {"uses": uses, "run_id": run_id, "node_id": node_id, "created_at": cached.created_at}
            if recorded is not None or versions is not None:
                detail |= {"recorded_version": recorded, "installed_versions": sorted(map(str, versions or ()))}
            items.append(
                StaleItem(source="node-cache", kind="cache", key=key, reason=reason, size=cached.size, detail=detail)
            )
    return items


def cache_source(context: HostContext) -> StaleSource:
    """``node-cache``: cache entries of another contribution version, superseded, too old or marked stale."""
    host = _Context(context)

    async def find() -> list[StaleItem]:
        data = host.data()
        if data is None:
            return []
        entries = await cache_entries(data)
        lineage = host.lineage()
        run_ids = sorted({entry.run_id for entry in entries})
        produced = {} if lineage is None or not entries else await asyncio.to_thread(lineage, run_ids)
        return find_cache(
            entries,
            host.options,
            installed=host.installed(),
            produced=produced,
            marks=await asyncio.to_thread(host.marks),
            now=time.time(),
        )

    async def reclaim(items: list[StaleItem]) -> list[StaleItem]:
        wanted = {item.key for item in items if item.source == "node-cache"}
        data = host.data()
        if data is None or not wanted:
            return []
        still = [item for item in await find() if item.key in wanted]
        for batch in _batches([item.key for item in still]):
            await data.delete_cache(batch)
        return still

    return StaleSource(
        name="node-cache",
        description="cached node outputs whose contribution, configuration or inputs changed",
        find=find,
        reclaim=reclaim,
    )


# -- runs and logs ----------------------------------------------------------------------------


async def finished_runs(data: DataAccessPort, before: float) -> AsyncIterator[RunSummary]:
    """The runs that finished before ``before``, oldest first, page by page."""
    cursor = None
    while True:
        page = await data.list_runs(limit=_RUNS_PAGE, cursor=cursor, finished_before=before)
        for summary in page.items:
            yield summary
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def _record(data: DataAccessPort, run_id: str) -> RunRecord | None:
    """The run recorded under exactly ``run_id`` (not one it is a prefix of), or None."""
    try:
        record = await data.get_run(run_id)
    except ValidationError:  # a prefix of several runs: none of them is this one
        return None
    return record if record is not None and record.id == run_id else None


async def _log_still_stale(data: DataAccessPort, item: StaleItem, keep: float | None, now: float) -> bool:
    """Whether the log ``item`` is still past the ``logs`` retention ``keep`` (see the module docstring)."""
    if keep is None:
        return False
    try:
        written = Path(item.detail["path"]).stat().st_mtime
    except FileNotFoundError:
        return False
    record = await _record(data, item.key)
    if record is None:
        return now - written > keep
    return record.state in FINISHED and record.finished_at is not None and now - record.finished_at > keep


def _log_size(log: Path | None) -> int:
    try:
        return 0 if log is None else log.stat().st_size
    except FileNotFoundError:
        return 0


async def find_runs(data: DataAccessPort, logs: Path, options: StaleOptions, now: float) -> list[StaleItem]:
    """Finished runs past the runs retention, and logs past the logs retention (see the module docstring)."""
    runs_keep, logs_keep = options.runs_retention, options.logs_retention
    keeps = [keep for keep in (runs_keep, logs_keep) if keep is not None]
    if not keeps:
        return []
    log_files = {path.stem: path for path in logs.glob("*.log")} if logs.is_dir() else {}
    items = []
    listed = set()
    async for summary in finished_runs(data, now - min(keeps)):
        listed.add(summary.id)
        if summary.state not in FINISHED or summary.finished_at is None:
            continue
        state, name, age = summary.state, summary.workflow_name, now - summary.finished_at
        log = log_files.get(summary.id)
        if runs_keep is not None and age > runs_keep:
            items.append(
                StaleItem(
                    source="runs",
                    kind="run",
                    key=summary.id,
                    reason=f"{state} run of {name!r} finished {_ago(age)} ago, past runs = {options.runs!r}",
                    size=summary.size + _log_size(log),
                    detail={"state": state, "finished_at": summary.finished_at, "workflow": name, "path": _path(log)},
                )
            )
        elif log is not None and logs_keep is not None and age > logs_keep:
            items.append(
                StaleItem(
                    source="runs",
                    kind="log",
                    key=summary.id,
                    reason=f"log of a {state} run finished {_ago(age)} ago, past logs = {options.logs!r}",
                    size=_log_size(log),
                    detail={"path": str(log)},
                )
            )
    if logs_keep is not None:
        for run_id, log in sorted(log_files.items()):
            if run_id in listed:
                continue
            try:
                written = log.stat().st_mtime
            except FileNotFoundError:
                continue
            # Only a log written long ago may have lost its run: ask the service about those alone.
            if now - written > logs_keep and await _record(data, run_id) is None:
                items.append(
                    StaleItem(
                        source="runs",
                        kind="log",
                        key=run_id,
                        reason=f"log of a run no longer recorded, last written {_ago(now - written)} ago",
                        size=_log_size(log),
                        detail={"path": str(log)},
                    )
                )
    return items


def runs_source(context: HostContext) -> StaleSource:
    """``runs``: finished runs' checkpoints and logs past their retention."""
    host = _Context(context)

    async def find() -> list[StaleItem]:
        data = host.data()
        return [] if data is None else await find_runs(data, host.logs, host.options, time.time())

    async def reclaim(items: list[StaleItem]) -> list[StaleItem]:
        mine = [item for item in items if item.source == "runs"]
        data = host.data()
        if data is None or not mine:
            return []
        now = time.time()
        runs_keep, logs_keep = host.options.runs_retention, host.options.logs_retention
        runs = [item.key for item in mine if item.kind == "run"]
        gone: set[str] = set()
        if runs_keep is not None:
            for batch in _batches(runs):
                gone.update(await data.delete_runs(batch, finished_before=now - runs_keep))
        reclaimed = []
        for item in mine:
            if item.kind == "run":
                if item.key not in gone:
                    continue  # resumed, or finished again, since it was found
            elif not await _log_still_stale(data, item, logs_keep, now):
                continue
            if item.detail["path"] is not None:  # the log found with it (none is written once a run is finished)
                Path(item.detail["path"]).unlink(missing_ok=True)
            reclaimed.append(item)
        return reclaimed

    return StaleSource(
        name="runs",
        description="finished runs' checkpoints and logs past their retention",
        find=find,
        reclaim=reclaim,
    )


def dag_stale_sources(context: HostContext) -> list[StaleSource]:
    """The DAG tracker's stale sources, for its plugin's ``symphony_stale_sources``."""
    return [cache_source(context), runs_source(context)]
