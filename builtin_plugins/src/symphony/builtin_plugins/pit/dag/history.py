"""``symphony runs list|show|logs|draw``: what the builtin tracker's run records (the data service's) and log files say.

Each command makes its calls to the data service in one event loop: its client belongs to one.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Callable, Mapping
from typing import Any

import click
import msgspec

from symphony.hookspecs import NotFoundError, Workflow
from symphony.hookspecs.ports import NodeCheckpoint, RunRecord, RunSummary

from .runlog import read_log
from .tracker import DagTracker, no_such_node

__all__ = ["add_record_commands", "echo_json"]

_SHOWN = 60  # characters of one output value in `runs show`; --json has it whole
_PAGE = 100  # runs asked for per request by `runs list` (within every service's page size)


def echo_json(document: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(document), indent=2).decode())


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _state(tracker: DagTracker, record: RunRecord | RunSummary) -> str:
    if record.state == "running" and not tracker.alive(record):
        return "interrupted"
    return record.state


def _outputs(node: NodeCheckpoint) -> Any:
    """A node's checkpointed outputs; one stored as an artifact is named by its id (`symphony artifacts`)."""
    if node.outputs_ref is not None:
        return {"artifact": node.outputs_ref}
    return None if node.outputs is None else msgspec.msgpack.decode(node.outputs)


def _node_json(node: NodeCheckpoint) -> dict[str, Any]:
    return {
        "state": node.state,
        "attempts": node.attempts,
        "retries": max(0, node.attempts - 1),
        "queue_wait": node.queue_wait,
        "run_time": node.run_time,
        "cached": node.cached,
        "error": node.error,
        "detail": node.detail,
        "outputs": _outputs(node),
    }


def _pending(node_id: str, waiting: Mapping[str, Any]) -> dict[str, Any]:
    """A node with no result yet: waiting for resources (and why), or pending."""
    if node_id in waiting:
        return {"state": "waiting", "waiting": waiting[node_id]}
    return {"state": "pending"}


def _show_json(tracker: DagTracker, record: RunRecord, nodes: Mapping[str, NodeCheckpoint]) -> dict[str, Any]:
    document = msgspec.msgpack.decode(record.document, type=Workflow)
    totals = tracker.totals(record)
    state = _state(tracker, record)
    # Waits are the running process's view: an ended or interrupted run waits for nothing.
    waiting = msgspec.msgpack.decode(record.waiting) if record.waiting and state == "running" else {}
    return {
        "run_id": record.id,
        "parent_id": record.parent_id,
        "workflow_id": record.workflow_id,
        "workflow_name": record.workflow_name,
        "state": state,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "error": record.error,
        "log": str(tracker.log_path(record.id)),
        "inputs": msgspec.msgpack.decode(record.inputs),
        "outputs": None if record.outputs is None else msgspec.msgpack.decode(record.outputs),
        "metrics": None if totals is None else msgspec.to_builtins(totals),
        "prewarmed": [] if record.prewarmed is None else msgspec.msgpack.decode(record.prewarmed),
        "nodes": {
            node_id: _node_json(nodes[node_id]) if node_id in nodes else _pending(node_id, waiting)
            for node_id in document.nodes
        },
    }


def _short(value: Any) -> str:
    """``value`` as JSON on one line, cut to ``_SHOWN`` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _print_show(record: RunRecord, document: dict[str, Any]) -> None:
    click.echo(f"run {record.id}  {record.workflow_name} ({record.workflow_id})  {document['state']}")
    if record.parent_id:
        click.echo(f"retry of run {record.parent_id}")
    click.echo(f"started {_when(record.created_at)}  finished {_when(record.finished_at)}")
    if record.error:
        click.echo(f"error: {record.error}")
    click.echo(f"  {'NODE':<20} {'STATE':<10} {'ATTEMPTS':>8} {'QUEUE ms':>9} {'RUN ms':>9}  NOTE")
    for node_id, node in document["nodes"].items():
        if node["state"] == "pending":
            click.echo(f"  {node_id:<20} pending")
            continue
        if node["state"] == "waiting":
            click.echo(f"  {node_id:<20} {'waiting':<10} {'':>8} {'':>9} {'':>9}  {node['waiting']['message']}")
            continue
        note = node["error"] or ("cached" if node["cached"] else node["detail"] or "")
        click.echo(
            f"  {node_id:<20} {node['state']:<10} {node['attempts']:>8} {node['queue_wait'] * 1000:>9.2f}"
            f" {node['run_time'] * 1000:>9.2f}  {note}"
        )
    metrics = document["metrics"]
    if metrics is not None:
        click.echo(
            f"totals: {metrics['nodes']} nodes, {metrics['succeeded']} succeeded, {metrics['failed']} failed,"
            f" {metrics['skipped']} skipped, {metrics['cached']} cached, {metrics['retries']} retries;"
            f" queue {metrics['queue_wait'] * 1000:.2f} ms, run {metrics['run_time'] * 1000:.2f} ms,"
            f" wall {metrics['wall_time'] * 1000:.2f} ms"
        )
    for warmed in document["prewarmed"]:
        click.echo(f"prewarmed model {warmed['model']} for node {warmed['node']} at {_when(warmed['at'])}")
    produced = {node_id: node["outputs"] for node_id, node in document["nodes"].items() if node.get("outputs")}
    if produced:
        click.echo("node outputs (cut short; --json has them whole):")
        for node_id, outputs in produced.items():
            for port, value in outputs.items():
                click.echo(f"  {node_id}.{port} = {_short(value)}")
    if document["outputs"]:
        click.echo("outputs:")
        for name, value in document["outputs"].items():
            click.echo(f"  {name} = {json.dumps(value, ensure_ascii=False)}")
    click.echo(f"log: {document['log']}")


async def _newest(dag: DagTracker, limit: int) -> list[RunSummary]:
    """The ``limit`` newest runs, over as many pages as the service's page size takes."""
    await dag.open_records()
    records = dag.require_records()
    found: list[RunSummary] = []
    cursor: str | None = None
    while len(found) < limit:
        page = await records.list_runs(limit=min(limit - len(found), _PAGE), cursor=cursor)
        found += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


async def _with_nodes(dag: DagTracker, run_id: str) -> tuple[RunRecord, dict[str, NodeCheckpoint]]:
    record = await dag.recorded(run_id)
    return record, await dag.recorded_nodes(record.id)


def add_record_commands(runs: click.Group, records: Callable[[], DagTracker]) -> None:
    """Add ``list``, ``show`` and ``logs`` to ``runs``; ``records()`` is the builtin tracker they read."""

    @runs.command("list")
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many, newest first.")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
    def list_runs(limit: int, as_json: bool) -> None:
        """The most recent runs: id, workflow, state, when, nodes."""
        dag = records()
        found = asyncio.run(_newest(dag, limit))
        if as_json:
            echo_json(
                [
                    {
                        "run_id": r.id,
                        "parent_id": r.parent_id,
                        "workflow_id": r.workflow_id,
                        "state": _state(dag, r),
                        "created_at": r.created_at,
                        "finished_at": r.finished_at,
                        "nodes_total": r.nodes_total,
                        "error": r.error,
                    }
                    for r in found
                ]
            )
            return
        if not found:
            click.echo("No runs yet; start one with `symphony run FILE`.")
            return
        click.echo(f"{'RUN':<32}  {'WORKFLOW':<20}  {'STATE':<11}  {'STARTED':<19}  NODES")
        for r in found:
            click.echo(
                f"{r.id:<32}  {r.workflow_id[:20]:<20}  {_state(dag, r):<11}  {_when(r.created_at)}  {r.nodes_total}"
            )

    @runs.command("show")
    @click.argument("run_id")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document, every node's outputs whole.")
    def show(run_id: str, as_json: bool) -> None:
        """One run: its state, each node's state, metrics and outputs, the totals, the outputs and its log file."""
        dag = records()
        record, nodes = asyncio.run(_with_nodes(dag, run_id))
        document = _show_json(dag, record, nodes)
        if as_json:
            echo_json(document)
        else:
            _print_show(record, document)

    @runs.command("draw")
    @click.argument("run_id")
    @click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
    def draw(run_id: str, fmt: str) -> None:
        """Draw a run's workflow with each node's state (Mermaid or Graphviz DOT text)."""
        from ...workflow.render import to_dot, to_mermaid

        record, nodes = asyncio.run(_with_nodes(records(), run_id))
        workflow = msgspec.msgpack.decode(record.document, type=Workflow)
        states = {
            node_id: "cached" if node.cached and node.state == "succeeded" else node.state
            for node_id, node in nodes.items()
        }
        click.echo((to_dot if fmt == "dot" else to_mermaid)(workflow, states), nl=False)

    @runs.command("logs")
    @click.argument("run_id")
    @click.argument("node", required=False)
    def logs(run_id: str, node: str | None) -> None:
        """The log of a run (its events, one line each), or only the lines of NODE."""
        dag = records()
        record = asyncio.run(dag.recorded(run_id))
        path = dag.log_path(record.id)
        if not path.exists():
            raise NotFoundError(f"Run {record.id} has no log file {path} (runs recorded before logs were kept).")
        workflow = msgspec.msgpack.decode(record.document, type=Workflow)
        if node is not None and node not in workflow.nodes:
            raise no_such_node(record.id, workflow, node)
        for line in read_log(path, node):
            click.echo(line)
