"""``symphony run`` and ``symphony runs list|show|resume|cancel``.

``run``, ``runs resume`` and ``runs cancel`` use the ``dag_tracker`` port only,
so they drive whichever tracker serves it; ``runs list`` and ``runs show`` read
the builtin tracker's run records.

Exit codes: 0 the run succeeded; 1 it failed or was cancelled, or a user error
(unknown run, bad input); 2 the workflow cannot be read or is invalid (as
``symphony workflow validate`` reports it); 130 interrupted by Ctrl-C (the run is
checkpointed ``cancelled`` and can be resumed).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import signal
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import click
import msgspec

from symphony.hookspecs import ExecutionId, ValidationReport, Workflow, decode_bounded
from symphony.hookspecs.ports import DagTrackerPort, RunOutcome, RunSink

from ...workflow.cli import load_or_exit
from .checkpoints import NodeRecord, RunRecord
from .progress import make_progress
from .run import RunResult
from .tracker import DagTracker

__all__ = ["run_command", "runs_commands"]

_FILE = click.Path(path_type=Path, dir_okay=False)
_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


def _echo_json(document: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(document), indent=2).decode())


def _bad_input(message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint="--input")


def parse_inputs(workflow: Workflow, pairs: tuple[str, ...]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs: VALUE is JSON unless the input is a string; ``@PATH`` reads a file."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE.", param_hint="--input")
        if text.startswith("@"):
            try:
                text = Path(text[1:]).read_text(encoding="utf-8")
            except OSError as error:
                raise click.BadParameter(f"Cannot read {text[1:]!r}: {error.strerror}.", param_hint="--input") from None
        spec = workflow.inputs.get(name)
        if spec is not None and spec.type == "string":
            values[name] = text
            continue
        try:
            values[name] = decode_bounded(partial(json.loads, text), what=f"Input {name!r}", error=_bad_input)
        except json.JSONDecodeError:
            values[name] = text
    return values


def _result_json(result: RunOutcome) -> dict[str, Any]:
    if not isinstance(result, RunResult):  # another tracker's: the fields the port promises
        return {"run_id": result.run_id, "state": result.state, "outputs": result.outputs, "error": result.error}
    document: dict[str, Any] = msgspec.to_builtins(result)
    for node in document["nodes"].values():
        node["retries"] = max(0, node["attempts"] - 1)
    return document


def _summary(result: RunOutcome) -> str:
    if not isinstance(result, RunResult):  # another tracker's: no metrics promised
        return f"run {result.run_id} {result.state}"
    m = result.metrics
    parts = [f"{m.succeeded} succeeded"] + [
        f"{count} {name}"
        for name, count in (("failed", m.failed), ("skipped", m.skipped), ("cached", m.cached))
        if count
    ]
    if m.pending:
        parts.append(f"{m.pending} not run")
    return f"run {result.run_id} {result.state} in {m.wall_time * 1000:.1f} ms ({', '.join(parts)})"


def _print_result(result: RunOutcome) -> None:
    click.echo(_summary(result))
    if result.error:
        click.echo(f"error: {result.error}")
    if result.outputs:
        click.echo("outputs:")
        for name, value in result.outputs.items():
            click.echo(f"  {name} = {json.dumps(value, ensure_ascii=False)}")
    if result.state in ("failed", "cancelled"):
        click.echo(f"resume with: symphony runs resume {result.run_id}")


def _drive(
    tracker: DagTrackerPort, begin: Callable[[RunSink], Awaitable[ExecutionId]], total: int, as_json: bool
) -> None:
    """Start (or resume) a run with a progress display, wait, print it; exit 1 unless it succeeded.

    The first Ctrl-C cancels the run through the port, so its running nodes stop and
    it is checkpointed ``cancelled``; the command prints how to resume it and exits 130.
    A second Ctrl-C interrupts at once.
    """
    progress = make_progress(total, quiet=as_json)
    cancelling: list[asyncio.Task[None]] = []  # set by the first Ctrl-C

    def interrupt(run_id: ExecutionId) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C raises KeyboardInterrupt
        cancelling.append(loop.create_task(tracker.cancel(run_id)))

    async def main() -> RunOutcome:
        try:
            run_id = await begin(progress)
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, interrupt, run_id)
            return await tracker.wait(run_id)
        finally:
            await tracker.close()

    try:
        result = asyncio.run(main())
    except KeyboardInterrupt:
        raise SystemExit(_INTERRUPTED) from None
    finally:
        progress.close()
    if as_json:
        _echo_json(_result_json(result))
    else:
        _print_result(result)
    if cancelling:
        raise SystemExit(_INTERRUPTED)
    if result.state != "succeeded":
        raise SystemExit(1)


def _resume(tracker: DagTrackerPort, run_id: str, as_json: bool) -> None:
    status = asyncio.run(tracker.status(ExecutionId(run_id)))
    _drive(
        tracker,
        lambda sink: tracker.resume(status.execution_id, sink),
        status.nodes_total,
        as_json,
    )


def _exit_invalid(file: Path, report: ValidationReport, as_json: bool) -> None:
    """Print every problem of an invalid workflow and exit 2 (as ``symphony workflow validate``)."""
    if as_json:
        problems = [msgspec.to_builtins(p) for p in report.problems]
        _echo_json({"state": "invalid", "problems": problems})
    else:
        for p in report.problems:
            where = ", ".join(p.nodes + p.edges)
            click.echo(f"{p.severity}: [{p.kind}] {p.message}" + (f" ({where})" if where else ""), err=True)
        click.echo(f"{file}: invalid ({len(report.errors)} error(s)); nothing was run.", err=True)
    raise SystemExit(2)


def run_command(tracker: Callable[[], DagTrackerPort], check: Callable[[Workflow], ValidationReport]) -> click.Command:
    """``symphony run`` over the tracker ``tracker()`` gives; ``check`` validates against the installed nodes."""

    @click.command("run")
    @click.argument("file", type=_FILE, required=False)
    @click.option("--input", "-i", "pairs", multiple=True, metavar="NAME=VALUE", help="A workflow input (repeatable).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document: run id, state, outputs, metrics.")
    @click.option("--resume", "resume_id", metavar="RUN_ID", help="Continue an earlier run instead of FILE.")
    def run(file: Path | None, pairs: tuple[str, ...], as_json: bool, resume_id: str | None) -> None:
        """Run the workflow FILE with a progress display, then print its outputs.

        VALUE is read as JSON unless the input is declared a string; @PATH reads it from a file.
        Exit 0 succeeded, 1 failed or cancelled (or a user error), 2 FILE unreadable or invalid,
        130 interrupted by Ctrl-C (the run is cancelled and checkpointed; resume it with `symphony runs resume`).
        """
        if resume_id is not None:
            if file is not None or pairs:
                raise click.UsageError("--resume continues a recorded run: give no FILE or --input with it.")
            _resume(tracker(), resume_id, as_json)
            return
        if file is None:
            raise click.UsageError("Give a workflow FILE to run, or --resume RUN_ID.")
        workflow = load_or_exit(file)
        inputs = parse_inputs(workflow, pairs)
        dag = tracker()
        report = check(workflow)
        if not report.valid:
            _exit_invalid(file, report, as_json)
        _drive(dag, lambda sink: dag.execute(workflow, inputs, sink), len(workflow.nodes), as_json)

    return run


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _state(tracker: DagTracker, record: RunRecord) -> str:
    if record.state == "running" and not tracker.alive(record):
        return "interrupted"
    return record.state


def _node_json(node: NodeRecord) -> dict[str, Any]:
    return {
        "state": node.state,
        "attempts": node.attempts,
        "retries": max(0, node.attempts - 1),
        "queue_wait": node.queue_wait,
        "run_time": node.run_time,
        "cached": node.cached,
        "error": node.error,
        "detail": node.detail,
    }


def _show_json(tracker: DagTracker, record: RunRecord, nodes: Mapping[str, NodeRecord]) -> dict[str, Any]:
    document = msgspec.msgpack.decode(record.document, type=Workflow)
    totals = tracker.totals(record)
    return {
        "run_id": record.id,
        "workflow_id": record.workflow_id,
        "workflow_name": record.workflow_name,
        "state": _state(tracker, record),
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "error": record.error,
        "inputs": msgspec.msgpack.decode(record.inputs),
        "outputs": None if record.outputs is None else msgspec.msgpack.decode(record.outputs),
        "metrics": None if totals is None else msgspec.to_builtins(totals),
        "nodes": {
            node_id: _node_json(nodes[node_id]) if node_id in nodes else {"state": "pending"}
            for node_id in document.nodes
        },
    }


def _cancel(dag: DagTrackerPort, run_id: str) -> None:
    """Cancel through the port; the state afterwards tells a cancelled run from one whose process will stop it."""

    async def cancel_run() -> tuple[ExecutionId, str]:
        run = (await dag.status(ExecutionId(run_id))).execution_id
        await dag.cancel(run)
        return run, (await dag.status(run)).state

    run, state = asyncio.run(cancel_run())
    if state == "cancelled":
        click.echo(f"run {run}: cancelled.")
    else:
        click.echo(f"run {run}: cancellation requested; the process running it stops it shortly.")


def runs_commands(tracker: Callable[[], DagTrackerPort], records: Callable[[], DagTracker]) -> click.Group:
    """``symphony runs``: ``records()`` is the builtin tracker, whose run records ``list`` and ``show`` read."""

    @click.group("runs")
    def runs() -> None:
        """List, inspect, resume and cancel workflow runs."""

    @runs.command("list")
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many, newest first.")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
    def list_runs(limit: int, as_json: bool) -> None:
        """The most recent runs: id, workflow, state, when, nodes."""
        dag = records()
        found = dag.require_store().runs(limit)
        if as_json:
            _echo_json(
                [
                    {
                        "run_id": r.id,
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
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
    def show(run_id: str, as_json: bool) -> None:
        """One run: its state, each node's state and metrics, the totals and the outputs."""
        dag = records()
        store = dag.require_store()
        record = store.run(run_id)
        document = _show_json(dag, record, store.nodes(record.id))
        if as_json:
            _echo_json(document)
            return
        click.echo(f"run {record.id}  {record.workflow_name} ({record.workflow_id})  {document['state']}")
        click.echo(f"started {_when(record.created_at)}  finished {_when(record.finished_at)}")
        if record.error:
            click.echo(f"error: {record.error}")
        click.echo(f"  {'NODE':<20} {'STATE':<10} {'ATTEMPTS':>8} {'QUEUE ms':>9} {'RUN ms':>9}  NOTE")
        for node_id, node in document["nodes"].items():
            if node["state"] == "pending":
                click.echo(f"  {node_id:<20} pending")
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
        if document["outputs"]:
            click.echo("outputs:")
            for name, value in document["outputs"].items():
                click.echo(f"  {name} = {json.dumps(value, ensure_ascii=False)}")

    @runs.command("resume")
    @click.argument("run_id")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document, as `symphony run --json`.")
    def resume(run_id: str, as_json: bool) -> None:
        """Continue a failed, cancelled or interrupted run; finished nodes are not run again."""
        _resume(tracker(), run_id, as_json)

    @runs.command("cancel")
    @click.argument("run_id")
    def cancel(run_id: str) -> None:
        """Cancel a run: the process running it stops scheduling and cancels its running nodes."""
        _cancel(tracker(), run_id)

    return runs
