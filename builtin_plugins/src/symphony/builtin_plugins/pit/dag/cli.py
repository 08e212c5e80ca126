"""``symphony run`` and ``symphony runs resume|retry|cancel`` (``list|show|logs`` are in history.py).

``run``, ``runs resume`` and ``runs cancel`` use the ``dag_tracker`` port only,
so they drive whichever tracker serves it; ``runs resume --input`` and ``runs
retry`` need the builtin tracker's run records, as ``list|show|logs`` do.

Exit codes: 0 the run succeeded; 1 it failed or was cancelled, or a user error
(unknown run, bad input); 2 the workflow cannot be read or is invalid (as
``symphony workflow validate`` reports it); 130 interrupted by Ctrl-C (the run is
checkpointed ``cancelled`` and can be resumed).
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import click
import msgspec

from symphony.hookspecs import ExecutionId, ValidationReport, Workflow, decode_bounded
from symphony.hookspecs.ports import DagTrackerPort, RunOutcome, RunRecord, RunSink

from ...workflow.cli import load_or_exit
from .history import add_record_commands, echo_json
from .progress import Progress, make_progress
from .run import RunResult
from .tracker import DagTracker, is_bad_input

__all__ = ["run_command", "runs_commands"]

_FILE = click.Path(path_type=Path, dir_okay=False)
_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


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
    if isinstance(result, RunResult) and result.failure is not None and is_bad_input(result.failure.category):
        click.echo(f"fix the inputs and resume with: symphony runs resume {result.run_id} --input NAME=VALUE")
    elif result.state in ("failed", "cancelled"):
        click.echo(f"resume with: symphony runs resume {result.run_id}")


def _drive(
    tracker: DagTrackerPort,
    begin: Callable[[RunSink], Awaitable[ExecutionId]],
    total: int | Callable[[], Awaitable[int]],
    as_json: bool,
) -> None:
    """Start (or resume) a run with a progress display, wait, print it; exit 1 unless it succeeded.

    ``total`` is the run's node count, or a call finding it (asked in the same event loop as
    the run: the data service's client belongs to one loop).  The first Ctrl-C cancels the run
    through the port, so its running nodes stop and it is checkpointed ``cancelled``; the
    command prints how to resume it and exits 130.  A second Ctrl-C interrupts at once.
    """
    cancelling: list[asyncio.Task[None]] = []  # set by the first Ctrl-C
    shown: list[Progress] = []

    def interrupt(run_id: ExecutionId) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C raises KeyboardInterrupt
        cancelling.append(loop.create_task(tracker.cancel(run_id)))

    async def main() -> RunOutcome:
        try:
            nodes = total if isinstance(total, int) else await total()
            progress = make_progress(nodes, quiet=as_json)
            shown.append(progress)
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
        for progress in shown:
            progress.close()
    if as_json:
        echo_json(_result_json(result))
    else:
        _print_result(result)
    if cancelling:
        raise SystemExit(_INTERRUPTED)
    if result.state != "succeeded":
        raise SystemExit(1)


def _resume(tracker: DagTrackerPort, run_id: str, as_json: bool) -> None:
    found: list[ExecutionId] = []

    async def total() -> int:
        status = await tracker.status(ExecutionId(run_id))
        found.append(status.execution_id)
        return status.nodes_total

    _drive(tracker, lambda sink: tracker.resume(found[0], sink), total, as_json)


class _Recorded:
    """A recorded run, looked up in the run's own event loop: ``total()`` finds it, then ``record`` is it."""

    def __init__(self, dag: DagTracker, run_id: str) -> None:
        self._dag = dag
        self._run_id = run_id
        self.record: RunRecord | None = None

    async def total(self) -> int:
        self.record = await self._dag.recorded(self._run_id)
        return self.record.nodes_total

    @property
    def id(self) -> ExecutionId:
        assert self.record is not None
        return ExecutionId(self.record.id)

    def workflow(self) -> Workflow:
        assert self.record is not None
        return msgspec.msgpack.decode(self.record.document, type=Workflow)


def _exit_invalid(file: Path, report: ValidationReport, as_json: bool) -> None:
    """Print every problem of an invalid workflow and exit 2 (as ``symphony workflow validate``)."""
    if as_json:
        problems = [msgspec.to_builtins(p) for p in report.problems]
        echo_json({"state": "invalid", "problems": problems})
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
    """``symphony runs``: ``records()`` is the builtin tracker, for the commands that read its run records."""

    @click.group("runs")
    def runs() -> None:
        """List, inspect, resume, retry and cancel workflow runs."""

    add_record_commands(runs, records)

    @runs.command("resume")
    @click.argument("run_id")
    @click.option("--input", "-i", "pairs", multiple=True, metavar="NAME=VALUE", help="Correct an input (repeatable).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document, as `symphony run --json`.")
    def resume(run_id: str, pairs: tuple[str, ...], as_json: bool) -> None:
        """Continue a failed, cancelled or interrupted run; finished nodes are not run again.

        With --input, the nodes the corrected inputs feed, and everything downstream, run
        again. A run that failed on bad input resumes only with corrected inputs.
        """
        if not pairs:
            _resume(tracker(), run_id, as_json)
            return
        dag = records()
        run = _Recorded(dag, run_id)
        _drive(dag, lambda sink: dag.resume(run.id, sink, parse_inputs(run.workflow(), pairs)), run.total, as_json)

    @runs.command("retry")
    @click.argument("run_id")
    @click.option("--from", "node", required=True, metavar="NODE", help="The node to run again, with its downstream.")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document, as `symphony run --json`.")
    def retry(run_id: str, node: str, as_json: bool) -> None:
        """Run a recorded run again from NODE, as a new run.

        NODE and every node downstream of it run again; the other nodes that succeeded
        are restored from RUN_ID's checkpoints. `symphony runs show` names RUN_ID as
        the new run's parent.
        """
        dag = records()
        run = _Recorded(dag, run_id)
        _drive(dag, lambda sink: dag.retry_from(run.id, node, sink), run.total, as_json)

    @runs.command("cancel")
    @click.argument("run_id")
    def cancel(run_id: str) -> None:
        """Cancel a run: the process running it stops scheduling and cancels its running nodes."""
        _cancel(tracker(), run_id)

    return runs
