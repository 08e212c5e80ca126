"""The DAG tracker: the ``dag_tracker`` port, starting, resuming, watching and cancelling runs.

Runs of this process live in memory while they run; every run is also recorded
by the data service (port ``data_access``, when one is given), which is what
``symphony runs`` reads and what :meth:`DagTracker.resume` continues from, on
this machine or on any other that talks to the same service.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec
import psutil

from symphony.hookspecs import (
    ExecutionId,
    NotFoundError,
    RetryPolicy,
    ValidationError,
    Workflow,
    new_id,
)
from symphony.hookspecs.ports import (
    ArbitrationEnginePort,
    ArtifactStorePort,
    DataAccessPort,
    ExecutionStatus,
    NewRun,
    NodeCheckpoint,
    PoolManagerPort,
    RunProcess,
    RunRecord,
    RunSummary,
    RunUpdate,
)

from ...workflow.validate import Limits, ValidatedWorkflow, validate
from .admission import os_user
from .executor import Executor, LocalExecutor
from .metrics import RunMetrics
from .nodes import Implementations
from .options import TrackerOptions
from .run import SAVE_NODES_MAX, Run, RunResult, Sink, decode_outputs
from .runlog import RunLog, read_log
from .scheduler import Plan

__all__ = ["DagTracker", "RunInvalidError", "is_bad_input", "no_such_node", "this_process"]

_FINAL = ("succeeded", "failed", "cancelled")
_START_TOLERANCE = 0.05  # seconds: psutil derives start times from clock ticks; the same process always matches


class RunInvalidError(ValidationError):
    """The workflow did not pass validation; ``report`` holds every problem."""

    category = "data.validation.workflow"

    def __init__(self, message: str, report: Any = None) -> None:
        # ``report`` defaults so the error can be rebuilt from its category and message alone
        # (an ErrorPayload crossing the IPC wire carries no report).
        super().__init__(message)
        self.report = report


class DagTracker:
    """Runs workflows with checkpoints, retries, caching and events (the ``dag_tracker`` port)."""

    def __init__(
        self,
        implementations: Implementations | Callable[[], Implementations],
        *,
        records: DataAccessPort | Callable[[], DataAccessPort | None] | None = None,
        log_dir: Path | None = None,
        options: TrackerOptions | None = None,
        retry: RetryPolicy | None = None,
        executor: Executor | None = None,
        artifacts: ArtifactStorePort | None = None,
        emit: Sink | None = None,
        limits: Limits | None = None,
        arbitration: ArbitrationEnginePort | Callable[[], ArbitrationEnginePort | None] | None = None,
        pool: PoolManagerPort | Callable[[], PoolManagerPort | None] | None = None,
    ) -> None:
        """``records`` keeps the runs; ``arbitration`` admits each node attempt; ``pool`` is prewarmed.

        Each may be a function giving it (or None: there is none), asked when a run first needs it.
        Each run's events go to ``<log_dir>/<run_id>.log`` when ``log_dir`` is given.
        """
        self._implementations = implementations
        self._records = records
        self.log_dir = log_dir
        self.options = options or TrackerOptions()
        self.retry = retry or RetryPolicy()
        self.executor: Executor = executor or LocalExecutor()
        self.artifacts = artifacts
        self._emit = emit
        self.limits = limits or Limits()
        self._runs: dict[str, tuple[Run, asyncio.Task[RunResult]]] = {}
        self._arbitration = arbitration
        self._pool = pool
        self.user = self.options.user or os_user()

    @property
    def implementations(self) -> Implementations:
        if callable(self._implementations):
            self._implementations = self._implementations()
        return self._implementations

    @property
    def records(self) -> DataAccessPort | None:
        """The data service that keeps the runs (None: this tracker keeps no records)."""
        if callable(self._records) and not isinstance(self._records, DataAccessPort):
            self._records = self._records()
        return self._records

    @property
    def arbitration(self) -> ArbitrationEnginePort | None:
        """The arbitration engine that admits node attempts (None: every attempt starts when launched)."""
        if callable(self._arbitration) and not isinstance(self._arbitration, ArbitrationEnginePort):
            self._arbitration = self._arbitration()
        return self._arbitration

    def pool(self) -> PoolManagerPort | None:
        """The pool the lookahead prewarms (None: no prewarming); asked only by runs whose instruments use models."""
        if callable(self._pool) and not isinstance(self._pool, PoolManagerPort):
            self._pool = self._pool()
        return self._pool

    async def open_records(self) -> DataAccessPort | None:
        """:attr:`records`, opened in a worker thread the first time.

        Opening the embedded service migrates its database: that must not hold up this
        loop, on which a conductor answers its heartbeats.
        """
        opener = self._records
        if callable(opener) and not isinstance(opener, DataAccessPort):
            opened = await asyncio.to_thread(opener)
            if self._records is opener:  # unless another caller opened it meanwhile
                self._records = opened
        return self.records

    def require_records(self) -> DataAccessPort:
        records = self.records
        if records is None:
            raise NotFoundError(
                "This DAG tracker keeps no run records: no data service (port 'data_access') is available."
            )
        return records

    async def recorded(self, run_id: str) -> RunRecord:
        """The recorded run whose id is, or uniquely starts with, ``run_id``."""
        await self.open_records()
        found = await self.require_records().get_run(run_id)
        if found is None:
            raise NotFoundError(f"No run {run_id!r}; `symphony runs list` shows the runs.")
        return found

    async def recorded_nodes(self, run_id: str) -> dict[str, NodeCheckpoint]:
        """The checkpoints of a recorded run, by node."""
        return {node.node_id: node for node in await self.require_records().run_nodes(run_id)}

    def log_path(self, run_id: str) -> Path:
        """The run's log file: one line per event."""
        if self.log_dir is None:
            raise NotFoundError("This DAG tracker keeps no run logs (it was made without a log directory).")
        return self.log_dir / f"{run_id}.log"

    async def run_log(self, execution_id: ExecutionId, node: str | None = None) -> list[str]:
        """The RunLogs capability: the run's log lines (or ``node``'s); NotFoundError when it has none."""
        path = self.log_path(execution_id)
        try:
            return await asyncio.to_thread(lambda: list(read_log(path, node)))
        except FileNotFoundError:
            raise NotFoundError(f"Run {execution_id} has no log in {path.parent}.") from None

    # -- the port -------------------------------------------------------------------

    async def execute(self, workflow: Any, inputs: Mapping[str, Any], sink: Sink | None = None) -> ExecutionId:
        """Start a run in the background; :meth:`wait` gives its result."""
        return await self.start(workflow, inputs, sink)

    async def status(self, execution_id: ExecutionId) -> ExecutionStatus:
        live = self._runs.get(execution_id)
        if live is not None:
            run, task = live
            counts: dict[str, int] = {}
            for metrics in run.metrics.values():
                counts[metrics.state] = counts.get(metrics.state, 0) + 1
            state = "running"
            if task.done():
                state = "cancelled" if task.cancelled() or task.exception() else task.result().state
            return ExecutionStatus(
                execution_id=execution_id,
                state=state,  # type: ignore[arg-type]
                nodes_total=len(run.metrics),
                nodes_done=counts.get("succeeded", 0) + counts.get("skipped", 0),
                nodes_failed=counts.get("failed", 0),
                nodes_running=counts.get("running", 0),
                nodes_skipped=counts.get("skipped", 0),
                error=run.failure.message() if run.failure else None,
            )
        record = await self.recorded(execution_id)
        states = [n.state for n in await self.require_records().run_nodes(record.id)]
        return ExecutionStatus(
            execution_id=ExecutionId(record.id),
            state=record.state,  # type: ignore[arg-type]
            nodes_total=record.nodes_total,
            nodes_done=states.count("succeeded") + states.count("skipped"),
            nodes_failed=states.count("failed"),
            nodes_skipped=states.count("skipped"),
            error=record.error,
        )

    async def cancel(self, execution_id: ExecutionId) -> None:
        """Cancel a run of this process, or ask the process running it to (through the database)."""
        live = self._runs.get(execution_id)
        if live is not None:
            live[0].cancel()
            return
        record = await self.recorded(execution_id)
        if record.state in _FINAL:
            raise ValidationError(f"Run {record.id} already {record.state}; there is nothing to cancel.")
        if self.alive(record):
            update = RunUpdate(cancel_requested=True)
        else:
            update = RunUpdate(state="cancelled", finished_at=time.time(), error="The run was cancelled.")
        await self.require_records().update_run(record.id, update)

    async def resume(
        self, execution_id: ExecutionId, sink: Sink | None = None, inputs: Mapping[str, Any] | None = None
    ) -> ExecutionId:
        """Continue a failed, cancelled or interrupted run; nodes that succeeded are not run again.

        ``inputs`` correct some of the run's inputs: the nodes they feed and everything
        downstream run again.  A run that failed on bad input (``data.validation``) resumes
        only with corrected inputs, since the same ones would fail the same way.
        """
        record = await self.recorded(execution_id)
        if record.state == "succeeded":
            raise ValidationError(f"Run {record.id} already succeeded; there is nothing to resume.")
        self._refuse_running(record)
        workflow = msgspec.msgpack.decode(record.document, type=Workflow)
        recorded: dict[str, Any] = msgspec.msgpack.decode(record.inputs)
        if inputs is None and _failed_on_bad_input(record):
            raise ValidationError(
                f"Run {record.id} failed on bad input: {record.error} Resuming it with the same inputs would fail"
                f" the same way; give corrected ones: `symphony runs resume {record.id} --input NAME=VALUE`"
                f" (its inputs: {', '.join(workflow.inputs) or 'none'})."
            )
        values = self._inputs(workflow, {**recorded, **(inputs or {})})
        changed = {name for name, value in values.items() if name not in recorded or recorded[name] != value}
        if inputs is not None and not changed:
            raise ValidationError(f"Run {record.id} already has these inputs; give the values that correct it.")
        plan = self.plan(workflow)
        await self._connect_executor()
        rerun = plan.downstream(plan.fed_by(changed))
        restored = await self._restored(record.id, plan, rerun=rerun)
        run = self._make_run(record.id, plan, values, sink, restored=restored)
        records = self.require_records()
        forget = sorted(rerun)
        while len(forget) > SAVE_NODES_MAX:  # beyond one request's bound; forgetting early only reruns more
            await records.update_run(record.id, RunUpdate(forget=forget[:SAVE_NODES_MAX]))
            forget = forget[SAVE_NODES_MAX:]
        claim = RunUpdate(
            state="running",
            inputs=msgspec.msgpack.encode(values),
            process=this_process(),
            error=None,
            failure_category=None,
            cancel_requested=False,
            finished_at=None,
            forget=forget,
        )
        await records.update_run(record.id, claim)
        self._spawn(run, resumed=True)
        return ExecutionId(record.id)

    async def retry_from(self, execution_id: ExecutionId, node: str, sink: Sink | None = None) -> ExecutionId:
        """A new run of a recorded run's workflow and inputs, in which ``node`` and everything downstream run again.

        The other nodes that succeeded are restored from the recorded run's checkpoints
        (and recorded in the new run, which names the old one as its parent).
        """
        record = await self.recorded(execution_id)
        self._refuse_running(record)
        workflow = msgspec.msgpack.decode(record.document, type=Workflow)
        if node not in workflow.nodes:
            raise no_such_node(record.id, workflow, node)
        inputs = msgspec.msgpack.decode(record.inputs)
        plan = self.plan(workflow)
        await self._connect_executor()
        restored = await self._restored(record.id, plan, rerun=plan.downstream([node]))
        run_id = new_id()
        run = self._make_run(run_id, plan, inputs, sink, restored=restored)
        await self._record(run_id, workflow, inputs, parent_id=record.id)
        copied = sorted(restored)
        for start in range(0, len(copied), SAVE_NODES_MAX):
            await self.require_records().copy_nodes(record.id, run_id, copied[start : start + SAVE_NODES_MAX])
        self._spawn(run, resumed=False)
        return ExecutionId(run_id)

    async def wait(self, execution_id: ExecutionId) -> RunResult:
        """The result of a run started by this tracker, once it ends."""
        live = self._runs.get(execution_id)
        if live is None:
            raise NotFoundError(f"Run {execution_id} is not running in this process.")
        try:
            return await asyncio.shield(live[1])
        finally:
            if live[1].done():
                self._runs.pop(execution_id, None)

    async def close(self) -> None:
        for run, task in list(self._runs.values()):
            run.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.executor.close()

    # -- beyond the port ----------------------------------------------------------------

    async def start(self, workflow: Any, inputs: Mapping[str, Any], sink: Sink | None = None) -> ExecutionId:
        """Validate, record and start a run; returns its id at once."""
        if isinstance(workflow, ValidatedWorkflow):
            workflow = workflow.workflow
        if not isinstance(workflow, Workflow):
            raise ValidationError(f"Expected a Workflow to run, got {type(workflow).__name__}.")
        plan = self.plan(workflow)
        values = self._inputs(workflow, inputs)
        await self._connect_executor()
        await self.open_records()
        run_id = new_id()
        run = self._make_run(run_id, plan, values, sink)
        await self._record(run_id, workflow, values)
        self._spawn(run, resumed=False)
        return ExecutionId(run_id)

    async def run(self, workflow: Any, inputs: Mapping[str, Any], sink: Sink | None = None) -> RunResult:
        """Start a run and wait for it."""
        return await self.wait(await self.start(workflow, inputs, sink))

    def alive(self, record: RunRecord | RunSummary) -> bool:
        """Whether the process that runs ``record`` is still alive (a run of this host only)."""
        process = record.process
        if record.state in _FINAL or process is None:
            return False
        if record.id in self._runs:
            return True
        if process.hostname != socket.gethostname():
            return True  # another machine: assume it is, cancel through the data service
        if process.pid == os.getpid():
            return False
        return _same_process_alive(process.pid, process.started)

    @staticmethod
    def totals(record: RunRecord | RunSummary) -> RunMetrics | None:
        return None if record.metrics is None else msgspec.msgpack.decode(record.metrics, type=RunMetrics)

    # -- internals ------------------------------------------------------------------

    async def _record(
        self, run_id: str, workflow: Workflow, inputs: Mapping[str, Any], parent_id: str | None = None
    ) -> None:
        """Record a run that this process starts now (nothing when the tracker keeps no records)."""
        records = self.records
        if records is None:
            return
        await records.create_run(
            NewRun(
                id=run_id,
                workflow_id=workflow.id,
                workflow_name=workflow.name,
                document=msgspec.msgpack.encode(workflow),
                inputs=msgspec.msgpack.encode(inputs),
                nodes_total=len(workflow.nodes),
                process=this_process(),
                parent_id=parent_id,
            )
        )

    def _refuse_running(self, record: RunRecord) -> None:
        if record.id in self._runs or self.alive(record):
            where = f" (process {record.process.pid} on {record.process.hostname})" if record.process else ""
            raise ValidationError(
                f"Run {record.id} is still running{where}; wait for it, or `symphony runs cancel {record.id}` first."
            )

    async def _restored(
        self, run_id: str, plan: Plan, rerun: set[str]
    ) -> dict[str, tuple[Mapping[str, Any] | None, NodeCheckpoint]]:
        """The nodes of ``run_id`` that succeeded, with their outputs, except those in ``rerun``."""
        restored: dict[str, tuple[Mapping[str, Any] | None, NodeCheckpoint]] = {}
        for node in await self.require_records().run_nodes(run_id):
            node_id = node.node_id
            if node.state != "succeeded" or node_id not in plan.nodes or node_id in rerun:
                continue
            result = NodeCheckpoint(
                node_id=node_id,
                state="succeeded",
                attempts=node.attempts,
                queue_wait=node.queue_wait,
                run_time=node.run_time,
                detail=node.detail,
            )
            if node.detail == "shut":
                restored[node_id] = (None, result)
            else:
                outputs = await decode_outputs(self.artifacts, node.outputs, node.outputs_ref)
                restored[node_id] = (outputs, result)
        return restored

    def plan(self, workflow: Workflow) -> Plan:
        """Validate ``workflow`` against the installed contributions and compile it; RunInvalidError if invalid."""
        validated = validate(workflow, self.implementations.catalogue(), self.limits)
        report = validated.report()
        if not report.valid:
            lines = "\n".join(f"- [{p.kind}] {p.message}" for p in report.errors)
            raise RunInvalidError(f"Workflow {workflow.id!r} is invalid:\n{lines}", report)
        return Plan(workflow)

    async def _connect_executor(self) -> None:
        """Let a remote executor connect (start its cluster) before a run, outside every node's time and timeout."""
        connect = getattr(self.executor, "connect", None)
        if connect is not None:
            await connect()

    @staticmethod
    def _inputs(workflow: Workflow, inputs: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(inputs) - set(workflow.inputs))
        if unknown:
            declared = ", ".join(workflow.inputs) or "none"
            raise ValidationError(f"Unknown input(s) {', '.join(unknown)}; the workflow declares: {declared}.")
        missing = [name for name, spec in workflow.inputs.items() if spec.required and name not in inputs]
        if missing:
            hint = " ".join(f"--input {name}=VALUE" for name in missing)
            raise ValidationError(f"Missing required input(s) {', '.join(missing)}; pass them, e.g. {hint}.")
        return dict(inputs)

    def _sinks(self, sink: Sink | None) -> list[Sink]:
        return [s for s in (self._emit, sink) if s is not None]

    def _make_run(
        self,
        run_id: str,
        plan: Plan,
        inputs: Mapping[str, Any],
        sink: Sink | None,
        restored: Mapping[str, tuple[Mapping[str, Any] | None, NodeCheckpoint]] | None = None,
    ) -> Run:
        return Run(
            run_id,
            plan,
            inputs,
            self.implementations,
            executor=self.executor,
            records=self.records,
            artifacts=self.artifacts,
            options=self.options,
            retry=self.retry,
            sinks=self._sinks(sink),
            restored=restored,
            arbitration=self.arbitration,
            pool=self.pool,
            user=self.user,
        )

    def _spawn(self, run: Run, *, resumed: bool) -> None:
        log = None if self.log_dir is None else RunLog(self.log_path(run.run_id))
        if log is not None:
            run.sinks.append(log)
        task = asyncio.create_task(run.main(resumed=resumed), name=f"symphony-run-{run.run_id}")
        if log is not None:
            task.add_done_callback(lambda _: log.close())
        self._runs[run.run_id] = (run, task)


def no_such_node(run_id: str, workflow: Workflow, node: str) -> NotFoundError:
    """The error for a node ``run_id``'s workflow lacks, with the closest name and the others."""
    close = difflib.get_close_matches(node, workflow.nodes, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return NotFoundError(f"Run {run_id}'s workflow has no node {node!r}.{hint} Its nodes: {', '.join(workflow.nodes)}.")


def is_bad_input(category: str) -> bool:
    """Whether a node failure of ``category`` rejected its input: the same inputs would fail the same way."""
    return category == "data.validation" or category.startswith("data.validation.")


def _failed_on_bad_input(record: RunRecord) -> bool:
    return record.state == "failed" and is_bad_input(record.failure_category or "")


def this_process() -> RunProcess:
    """The process running a run: this one, on this host, started when it did."""
    return RunProcess(pid=os.getpid(), hostname=socket.gethostname(), started=psutil.Process().create_time())


def _same_process_alive(pid: int, started: float | None) -> bool:
    """Whether ``pid`` is alive, not a zombie, and (when recorded) the process that started at ``started``.

    Comparing start times keeps a pid the system reused for another process from
    making a dead run look alive.
    """
    try:
        process = psutil.Process(pid)
        if started is not None and abs(process.create_time() - started) > _START_TOLERANCE:
            return False
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
