"""Runs through the ports: listed and shown from the data service's run records, started, cancelled and resumed
through the conductor (a run another process started is cancelled through the DAG tracker).

Retrying from a node and the per-node logs are the tracker's optional capabilities
``RunRetry`` and ``RunLogs``: with a provider lacking them, retry answers 501 naming
the missing method and nodes show no logs.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from symphony.hookspecs import ExecutionId, NotFoundError, PortUnavailableError, Workflow
from symphony.hookspecs.ports import (
    ConductorPort,
    DagTrackerPort,
    DataAccessPort,
    NodeCheckpoint,
    OrchestrationRequest,
    RunLogs,
    RunRecord,
    RunRetry,
    RunSummary,
)

from ..data.service.problems import Problem, invalid, not_found, not_implemented
from ..workflow.catalogue import Catalogue
from .events import EventHub, iso
from .workflows import graph

__all__ = ["RunViews"]

#: A node's outputs larger than this (MessagePack bytes) are shown by size only.
MAX_SHOWN_OUTPUTS: Final = 64 * 1024
#: Seconds a resume or retry waits for the conductor that ran an ended run to let go of it.
SETTLE: Final = 10.0
#: Log lines shown per node at most (its latest).
LOG_LINES: Final = 50
#: Pages of runs read at most while filtering by workflow (the latest 10,000 runs).
MAX_PAGES: Final = 50
#: Runs fetched per page while filtering by workflow.
_PAGE: Final = 200


def _unpacked(data: bytes | None) -> Any:
    return None if data is None else msgspec.msgpack.decode(data)


def _metrics(run: RunSummary | RunRecord) -> dict[str, Any]:
    metrics = _unpacked(run.metrics)
    return metrics if isinstance(metrics, dict) else {}


def summary(run: RunSummary | RunRecord) -> dict[str, Any]:
    """A run as the runs list shows it, with the totals of `symphony runs show` once it has finished."""
    metrics = _metrics(run)
    done = metrics.get("succeeded", 0) + metrics.get("skipped", 0) + metrics.get("cached", 0) if metrics else None
    return {
        "run_id": run.id,
        "workflow": run.workflow_id,
        "workflow_name": run.workflow_name,
        "status": run.state,
        "started_at": iso(run.created_at),
        "finished_at": iso(run.finished_at),
        "duration_s": None if run.finished_at is None else round(run.finished_at - run.created_at, 6),
        "nodes_total": run.nodes_total,
        "nodes_done": done,
        "cache_hits": metrics.get("cached") if metrics else None,
        "retries": metrics.get("retries") if metrics else None,
        "parent_id": run.parent_id,
        "error": run.error,
    }


def _outputs(node: NodeCheckpoint) -> Any:
    if node.outputs_ref is not None:
        return {"artifact": node.outputs_ref}
    if node.outputs is not None and len(node.outputs) > MAX_SHOWN_OUTPUTS:
        return {"omitted_bytes": len(node.outputs)}
    return _unpacked(node.outputs)


def _node(
    node_id: str, checkpoint: NodeCheckpoint | None, waiting: dict[str, Any], live: dict[str, Any] | None
) -> dict[str, Any]:
    if checkpoint is None:
        reason = (waiting.get(node_id) or {}).get("message")
        if live is not None:
            reason = live.get("waiting_reason", reason)
            return {"id": node_id, "state": live["state"], "attempts": live.get("attempt"), "waiting_reason": reason}
        return {"id": node_id, "state": "waiting" if reason else "pending", "waiting_reason": reason}
    finished = checkpoint.finished_at
    started = None if finished is None else finished - checkpoint.run_time
    return {
        "id": node_id,
        "state": "cached" if checkpoint.cached else checkpoint.state,
        "queued_at": iso(None if started is None else started - checkpoint.queue_wait),
        "started_at": iso(started),
        "finished_at": iso(finished),
        "queue_wait_s": checkpoint.queue_wait,
        "run_time_s": checkpoint.run_time,
        "attempts": checkpoint.attempts,
        "retries": max(0, checkpoint.attempts - 1),
        "cache_hit": checkpoint.cached,
        "uses": checkpoint.uses,
        "outputs": _outputs(checkpoint),
        "error": checkpoint.error,
        "waiting_reason": None,
    }


@dataclass(frozen=True, kw_only=True)
class RunViews:
    """The runs API over ports ``data_access``, ``conductor`` and ``dag_tracker``."""

    records: DataAccessPort
    conductor: ConductorPort
    tracker: DagTrackerPort
    catalogue: Callable[[], Catalogue]
    hub: EventHub
    #: The tracker's RunRetry and RunLogs; each raises PortUnavailableError naming the method its provider lacks.
    retrier: Callable[[], RunRetry]
    logs: Callable[[], RunLogs]

    async def listing(self, status: str | None, workflow: str | None, limit: int) -> list[dict[str, Any]]:
        if not 1 <= limit <= 200:
            raise invalid(f"limit must be between 1 and 200, not {limit}.")
        found: list[dict[str, Any]] = []
        cursor = None
        for _page in range(MAX_PAGES):  # a rare workflow's runs are looked for among the latest runs only
            page = await self.records.list_runs(limit=_PAGE if workflow else limit, cursor=cursor, state=status)
            found += [summary(run) for run in page.items if workflow is None or run.workflow_id == workflow]
            cursor = page.next_cursor
            if cursor is None or len(found) >= limit:
                break
        return found[:limit]

    async def record(self, run_id: str) -> RunRecord:
        record = await self.records.get_run(run_id)
        if record is None:
            raise not_found(f"No run {run_id!r}; GET /ui/api/v1/runs lists them.")
        return record

    async def show(self, run_id: str) -> dict[str, Any]:
        record = await self.record(run_id)
        workflow = msgspec.msgpack.decode(record.document, type=Workflow)
        checkpoints = {node.node_id: node for node in await self.records.run_nodes(record.id)}
        waiting = _unpacked(record.waiting) or {}
        live = self.hub.latest(record.id)
        logs = await self._logs(record.id)
        nodes = [_node(node_id, checkpoints.get(node_id), waiting, live.get(node_id)) for node_id in workflow.nodes]
        for node in nodes:
            node["logs"] = logs.get(node["id"], [])
        return {
            "run": summary(record),
            "inputs": _unpacked(record.inputs),
            "outputs": _unpacked(record.outputs),
            "graph": graph(workflow, self.catalogue()),
            "nodes": nodes,
        }

    async def _logs(self, run_id: str) -> dict[str, list[str]]:
        """The last lines of each node's log (the tracker's RunLogs), by node; none when it keeps no log."""
        try:
            lines = await self.logs().run_log(ExecutionId(run_id))
        except (PortUnavailableError, NotFoundError):
            return {}
        by_node: dict[str, deque[str]] = {}
        for line in lines:
            node = line.split(" ", 3)[2:3]
            if node and node[0] != "-":
                by_node.setdefault(node[0], deque(maxlen=LOG_LINES)).append(line)
        return {node: list(lines) for node, lines in by_node.items()}

    async def start(self, workflow: Workflow, inputs: dict[str, Any]) -> str:
        return str(await self.conductor.submit(OrchestrationRequest(workflow=workflow, inputs=inputs)))

    async def cancel(self, run_id: str) -> str:
        record = await self.record(run_id)
        if record.state != "running":
            raise Problem(409, "data.validation", f"Run {record.id} is {record.state}; only a running run cancels.")
        try:
            await self.conductor.cancel(ExecutionId(record.id))
        except NotFoundError:  # not this console's conductor's run: the tracker reaches the process running it
            await self.tracker.cancel(ExecutionId(record.id))
        return record.id

    async def _ended(self, run_id: str, action: str) -> RunRecord:
        """The record of a run that has ended, once the conductor that ran it has let go of it too."""
        record = await self.record(run_id)
        if record.state == "running":
            raise Problem(409, "data.validation", f"Run {record.id} is still running; {action} it once it stops.")
        # Its record says it ended a moment before the conductor that ran it lets go of it: wait for that.
        with contextlib.suppress(NotFoundError, TimeoutError):
            await self.conductor.result(ExecutionId(record.id), timeout=SETTLE)
        return record

    async def resume(self, run_id: str) -> str:
        record = await self._ended(run_id, "resume")
        if record.state == "succeeded":
            raise Problem(409, "data.validation", f"Run {record.id} succeeded; there is nothing to resume.")
        request = OrchestrationRequest(workflow=None, resume=ExecutionId(record.id))
        return str(await self.conductor.submit(request))

    async def retry(self, run_id: str, node: str) -> str:
        """A new run of ``run_id`` in which ``node`` and its downstream run again (the others restored)."""
        try:
            retrier = self.retrier()
        except PortUnavailableError as error:
            raise not_implemented(str(error)) from None
        record = await self._ended(run_id, "retry")
        return str(await retrier.retry_from(ExecutionId(record.id), node))
