"""One run in progress: the loop that launches ready nodes, checkpoints and follows skips.

The loop alternates two steps.  *Collect*: take every node that finished since
the last step, let the scheduler work out what became ready or skipped, and
save all of it through the data service in one call (``save_nodes``).
*Launch*: start ready nodes while the run's and each contribution's
concurrency limits allow.  The nodes a save makes ready are released only once
it, and every save before it, has returned: no node starts before the results
it depends on are durable.  Nodes that finish while a save is in flight share
the next one.  The node whose end leaves nothing running makes the save in its
own task (on a chain, every node): no task and no loop turn of its own per save.
Without records nothing is awaited: collect and launch run in the same callback,
as before there was a service.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from symphony.hookspecs import INPUTS_NODE, ControlNode, DataEdge, Event, Invocation, RetryPolicy, SymphonyError
from symphony.hookspecs.ports import (
    ArbitrationEnginePort,
    ArtifactStorePort,
    DataAccessPort,
    NodeCheckpoint,
    PoolManagerPort,
    ResourceGrant,
    RunUpdate,
    WaitExplanation,
)

from .admission import Admission, describe_wait
from .cache import cache_key, contribution_version
from .executor import Executor, NodeTask, is_blocking
from .lookahead import Lookahead
from .metrics import NodeMetrics, RunMetrics, totals
from .nodes import Implementations, control_outputs
from .options import NodeOptions, TrackerOptions, node_options, split_config
from .recovery import NodeFailure, is_retryable
from .scheduler import Plan, Scheduler

if TYPE_CHECKING:
    from ..artifacts.catalog import Catalog, Lineage

__all__ = ["SAVE_NODES_MAX", "Run", "RunResult", "decode_outputs", "save_nodes"]

Sink = Callable[[Event], None]
_SOURCE = "dag"
#: Lineage entries recorded per transaction; a run records what is left when it ends.
_LINEAGE_BATCH = 256
#: Seconds between two writes of the waiting nodes to the run record (events are not delayed).
_RECORD_WAITS_EVERY = 0.2
#: Seconds between two looks at the run record for a cancel requested by another process.
_WATCH_CANCEL_EVERY = 0.2
#: Checkpoints, and bytes of their outputs and messages, per ``save_nodes`` call: within the data service's
#: bounds on one request (1000 items, 1 MiB of JSON, in which bytes travel as base64).
SAVE_NODES_MAX = 1000
SAVE_BYTES_MAX = 512 * 1024
#: A run's outputs in its record at most: the record travels in one request carrying documents, bounded at 96 MiB
#: of JSON (``max_document_body_bytes``), in which bytes travel as base64.
RECORD_BYTES_MAX = 64 * 1024 * 1024


class _Preempted(Exception):
    """The arbitration engine took a preemptible attempt's grant back: the attempt is queued again."""


@dataclass(slots=True)
class _Preemption:
    """One preemptible attempt: whether the engine asked for its grant back, and the call to cancel then."""

    fired: bool = False
    call: asyncio.Future[Any] | None = None

    def __call__(self) -> None:
        self.fired = True
        if self.call is not None:
            self.call.cancel()


class RunResult(msgspec.Struct, kw_only=True):
    """How a run ended: its state, named outputs (null when not produced), failure and metrics."""

    run_id: str
    workflow_id: str
    state: str
    outputs: dict[str, Any]
    error: str | None = None
    failure: NodeFailure | None = None
    nodes: dict[str, NodeMetrics] = msgspec.field(default_factory=dict)
    metrics: RunMetrics = msgspec.field(default_factory=RunMetrics)


@dataclass(slots=True)
class _Prepared:
    kind: str
    uses: str
    config: dict[str, Any]
    options: NodeOptions
    call: Any
    factory: Any
    cpu_bound: bool
    blocking: bool
    plugin: str
    runtime: str
    extension: str | None
    version: str | None  # the contributing distribution's, part of the cache key and the lineage
    models: tuple[str, ...]  # an instrument's pool models, prewarmed by the lookahead


@dataclass(slots=True)
class _Done:
    node_id: str
    outputs: Mapping[str, Any] | None  # None: failed, or a shut gate
    result: NodeCheckpoint | None  # what to checkpoint; None when restored from one
    failure: NodeFailure | None = None
    event: str = "succeeded"


class Run:
    """A run of one plan, from start or from a checkpoint (``restored``)."""

    def __init__(
        self,
        run_id: str,
        plan: Plan,
        inputs: Mapping[str, Any],
        implementations: Implementations,
        *,
        executor: Executor,
        records: DataAccessPort | None,
        artifacts: ArtifactStorePort | None,
        options: TrackerOptions,
        retry: RetryPolicy,
        sinks: list[Sink],
        restored: Mapping[str, tuple[Mapping[str, Any] | None, NodeCheckpoint]] | None = None,
        arbitration: ArbitrationEnginePort | None = None,
        pool: Callable[[], PoolManagerPort | None] | None = None,
        user: str = "",
    ) -> None:
        self.run_id = run_id
        self.plan = plan
        self.scheduler = Scheduler(plan, inputs)
        self.executor = executor
        self.records = records
        self.artifacts = artifacts
        self.catalog = catalog_of(artifacts)
        self.options = options
        self.retry = retry
        self.sinks = sinks
        self.restored = dict(restored or {})
        self.metrics = {node_id: NodeMetrics() for node_id in plan.nodes}
        self.invoke = implementations.invoke
        self.prepared = {
            node_id: self._prepare(node_id, p.node, implementations)
            for node_id, p in plan.nodes.items()
            if not isinstance(p.node, ControlNode)
        }
        self.wanted = {ref.partition(".")[0] for ref in plan.workflow.outputs.values()}
        self.outputs: dict[str, Mapping[str, Any]] = {}
        #: Each finished node's outputs artifact id; the lineage not yet recorded; the last batch recorded behind.
        self.artifact_ids: dict[str, str] = {}
        self._lineage: list[Lineage] = []
        self._behind: asyncio.Task[None] | None = None
        self._inputs = inputs
        self._inputs_id: str | None = None
        self._sources: dict[str, list[str]] = collections.defaultdict(list)
        for edge in plan.workflow.edges:
            if isinstance(edge, DataEdge):
                self._sources[edge.target_node].append(edge.source_node)
        self.failure: NodeFailure | None = None
        self.cancelling = False
        self._ready: collections.deque[str] = collections.deque()
        self._ready_at: dict[str, float] = {}
        self._blocked: dict[str, collections.deque[str]] = {}
        self._per_name: dict[str, int] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._done: list[_Done] = []
        #: Collected steps whose checkpoints are being saved, in order; the task saving them (None: none is).
        self._unsaved: list[tuple[list[NodeCheckpoint], tuple[list[_Done], list[str], list[str]]]] = []
        self._saving: asyncio.Task[Any] | None = None
        #: The node task stepping now that will save what it collects itself, once stepped (None: a new task saves).
        self._saver: asyncio.Task[Any] | None = None
        self._wake = asyncio.Event()
        self._scheduled = False
        self._crash: BaseException | None = None
        self._started = 0.0
        self.admission = (
            None
            if arbitration is None
            else Admission(arbitration, run_id, user=user, priority=options.priority, on_wait=self._waiting)
        )
        #: Nodes waiting for resources now -> the engine's explanation (as recorded for `runs show`).
        self.waiting: dict[str, dict[str, Any]] = {}
        self._waits_timer: asyncio.TimerHandle | None = None
        self._waits_write: asyncio.Task[None] | None = None
        self._waits_recorded = False  # whether the run record holds waits now
        self.pool: PoolManagerPort | None = None
        self.lookahead = self._lookahead(pool) if pool is not None else None
        #: Models the lookahead prewarmed: model, node, when and why (as recorded for `runs show`).
        self.prewarmed: list[dict[str, Any]] = []
        self._prewarming: set[asyncio.Task[None]] = set()

    @staticmethod
    def _prepare(node_id: str, node: Any, implementations: Implementations) -> _Prepared:
        config, run = split_config(node.config)
        options = node_options(node_id, run)
        plugin, spec = implementations.provided(node_id, node)
        call = implementations.build(node_id, node, config)
        return _Prepared(
            kind=str(node.__struct_config__.tag),
            uses=node.uses,
            config=config,
            options=options,
            call=call,
            factory=spec.factory,
            cpu_bound=bool(getattr(spec, "cpu_bound", False)),
            blocking=is_blocking(call),
            plugin=plugin,
            runtime=spec.runtime,
            extension=spec.extension,
            version=contribution_version(plugin, spec.extension),
            models=tuple(getattr(spec, "models", ())),
        )

    def _lookahead(self, pool: Callable[[], PoolManagerPort | None]) -> Lookahead | None:
        """The run's lookahead, when it has instruments that use models and a pool serves them."""
        models = {node_id: p.models for node_id, p in self.prepared.items() if p.kind == "instrument" and p.models}
        if not models or self.options.lookahead == 0:
            return None
        self.pool = pool()  # asked only now: a run without models never loads the pool
        return None if self.pool is None else Lookahead(self.plan, models, self.options.lookahead)

    # -- events ---------------------------------------------------------------------

    def emit(self, topic: str, **data: Any) -> None:
        if self.sinks:
            event = Event(topic=topic, source=_SOURCE, data={"run_id": self.run_id, **data})
            for sink in self.sinks:
                sink(event)

    # -- the loop -------------------------------------------------------------------

    async def main(self, *, resumed: bool) -> RunResult:
        self._started = time.perf_counter()
        self.emit(
            "run.resumed" if resumed else "run.started",
            workflow=self.plan.workflow.id,
            nodes=len(self.plan.nodes),
            restored=len(self.restored),
        )
        watcher = asyncio.create_task(self._watch_cancel()) if self.records is not None else None
        try:
            ready, _ = self.scheduler.start()
            self._enqueue(ready)
            self._announce(ready)
            if self.lookahead is not None:
                self._prewarm()
            self._step()
            while self._tasks or self._done or self._saving is not None:
                await self._wake.wait()
                self._wake.clear()
                if self._crash is not None:
                    raise self._crash
            self._record_behind()
            if self._behind is not None:
                await self._behind
        except BaseException:
            self.cancel()  # cancelled from outside, or a checkpoint could not be saved: stop every node
            for task in (self._behind, self._saving, self._waits_write):
                if task is not None:
                    task.cancel()
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
            for prewarming in self._prewarming:
                prewarming.cancel()
        return await self._finish()

    def _step(self) -> None:
        """Collect what finished and launch what is ready, until neither changes anything."""
        self._scheduled = False
        try:
            self._launch()
            while self._done:
                self._collect()
                self._launch()
        except BaseException as error:
            self._crash = error
            self._wake.set()
            return
        if not self._tasks and self._saving is None:  # else a node or the save wakes the loop when it ends
            self._wake.set()

    def _enqueue(self, ready: list[str]) -> None:
        now = time.perf_counter()
        for node_id in ready:
            self._ready.append(node_id)
            self._ready_at[node_id] = now
            self.metrics[node_id].state = "ready"

    def _announce(self, ready: list[str]) -> None:
        if self.sinks:
            for node_id in ready:
                self.emit("node.ready", node=node_id)

    def _collect(self) -> None:
        """Account for what finished; release it now, or once its checkpoints (and earlier ones) are saved."""
        batch, self._done = self._done, []
        save: list[NodeCheckpoint] = []
        skipped: list[str] = []
        became_ready: list[str] = []
        for done in batch:
            metrics = self.metrics[done.node_id]
            if done.result is not None:
                save.append(done.result)
            if done.failure is not None:
                metrics.state = "failed"
                self.failure = self.failure or done.failure
                continue
            metrics.state = "succeeded"
            if self.lookahead is not None:
                self.lookahead.finished(done.node_id)
            if done.node_id in self.wanted and done.outputs is not None:
                self.outputs[done.node_id] = done.outputs
            ready, newly_skipped = self.scheduler.finished(done.node_id, done.outputs)
            skipped += newly_skipped
            became_ready += ready
        for node_id in skipped:
            self.metrics[node_id].state = "skipped"
            if self.lookahead is not None:
                self.lookahead.finished(node_id)
            if node_id in self.restored:
                continue
            save.append(NodeCheckpoint(node_id=node_id, state="skipped"))
        if self._saving is None and (self.records is None or not save):
            self._release_collected(batch, skipped, became_ready)
            return
        self._unsaved.append((save, (batch, skipped, became_ready)))
        if self._saving is None:
            self._saving = self._saver or asyncio.create_task(self._save())

    async def _save(self) -> None:
        """Save the collected checkpoints, every step in flight in one call, then release and step on."""
        assert self.records is not None
        try:
            while self._unsaved:
                unsaved, self._unsaved = self._unsaved, []
                await save_nodes(self.records, self.run_id, [node for save, _ in unsaved for node in save])
                for _, collected in unsaved:
                    self._release_collected(*collected)
                self._step()  # may collect more, queued in _unsaved while this task is the one saving
        except Exception as error:  # the loop raises it: the run stops
            self._crash = _save_failed(self.run_id, error)
        finally:
            self._saving = None
            if self._crash is not None or not self._tasks:
                self._wake.set()

    def _release_collected(self, batch: list[_Done], skipped: list[str], became_ready: list[str]) -> None:
        """Publish a collected step and queue the nodes it made ready (its checkpoints are durable now)."""
        if self.sinks:
            for done in batch:
                if done.failure is not None:
                    self.emit("node.failed", **msgspec.to_builtins(done.failure), message=done.failure.message())
                else:
                    m = self.metrics[done.node_id]
                    detail = done.result.detail if done.result is not None else None
                    extra = {"detail": detail} if detail else {}
                    self.emit(
                        f"node.{done.event}", node=done.node_id, attempts=m.attempts, run_time=m.run_time, **extra
                    )
            for node_id in skipped:
                self.emit("node.skipped", node=node_id)
        self._enqueue(became_ready)
        self._announce(became_ready)
        if self.lookahead is not None:
            self._prewarm()

    def _launch(self) -> None:
        ready = self._ready
        limit = self.options.max_concurrency
        limits = self.options.limits
        while ready and not self.failure and not self.cancelling:
            node_id = ready[0]
            if node_id in self.restored:
                ready.popleft()
                outputs, result = self.restored[node_id]
                self.metrics[node_id].attempts = result.attempts
                self.metrics[node_id].run_time = result.run_time
                self.metrics[node_id].queue_wait = result.queue_wait
                self._done.append(_Done(node_id, outputs, None, event="restored"))
                continue
            node = self.plan.nodes[node_id].node
            if isinstance(node, ControlNode):
                ready.popleft()
                outputs = control_outputs(node, self.scheduler.inputs_of(node_id))
                metrics = self.metrics[node_id]
                metrics.queue_wait = time.perf_counter() - self._ready_at.pop(node_id)
                metrics.attempts = 1
                detail = "shut" if outputs is None else None
                result = NodeCheckpoint(node_id=node_id, state="succeeded", attempts=1, detail=detail)
                if self.records is not None and outputs is not None:
                    result = NodeCheckpoint(
                        node_id=node_id, state="succeeded", attempts=1, outputs=msgspec.msgpack.encode(outputs)
                    )
                self._done.append(_Done(node_id, outputs, result))
                continue
            if len(self._tasks) >= limit:
                break
            ready.popleft()
            prepared = self.prepared[node_id]
            cap = limits.get(prepared.uses)
            if cap is not None:
                running = self._per_name.get(prepared.uses, 0)
                if running >= cap:
                    self._blocked.setdefault(prepared.uses, collections.deque()).append(node_id)
                    continue
                self._per_name[prepared.uses] = running + 1
            self._tasks[node_id] = asyncio.create_task(self._execute(node_id, prepared))

    def _release(self, node_id: str, prepared: _Prepared, saver: asyncio.Task[Any] | None = None) -> bool:
        """A node's task ends: step now if it was the only one running, else once for this loop turn.

        Stepping at once saves a loop turn per node on chains; deferring lets nodes
        that finish in the same turn share one checkpoint transaction.  True when
        ``saver`` (the ending node's own task) is to make the save the step began.
        """
        del self._tasks[node_id]
        if prepared.uses in self.options.limits:
            self._per_name[prepared.uses] -= 1
            blocked = self._blocked.get(prepared.uses)
            if blocked:
                self._ready.appendleft(blocked.popleft())
        if not self._tasks:
            self._saver = saver
            try:
                self._step()
            finally:
                self._saver = None
            return saver is not None and self._saving is saver
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._step)
        return False

    # -- one node -------------------------------------------------------------------

    async def _execute(self, node_id: str, prepared: _Prepared) -> None:
        """Run the node; then, ending normally, make the save its step begins in this task (see ``_release``)."""
        try:
            await self._node(node_id, prepared)
        except BaseException:
            self._release(node_id, prepared)
            raise
        if self._release(node_id, prepared, asyncio.current_task()):
            await self._save()

    async def _node(self, node_id: str, prepared: _Prepared) -> None:
        metrics = self.metrics[node_id]
        start = time.perf_counter()
        metrics.queue_wait = start - self._ready_at.pop(node_id)
        metrics.state = "running"
        inputs = self.scheduler.inputs_of(node_id)
        options = prepared.options
        key = None
        if options.cache and self.records is not None:
            key = cache_key(prepared.kind, prepared.uses, prepared.version, prepared.config, inputs)
            hit = await self.records.cached_node(key)
            if hit is not None:
                outputs = await self.decode(hit.outputs, hit.outputs_ref)
                self._produced(node_id, prepared, hit.outputs, hit.outputs_ref)
                metrics.cached = True
                result = NodeCheckpoint(
                    node_id=node_id,
                    state="succeeded",
                    outputs=hit.outputs,
                    outputs_ref=hit.outputs_ref,
                    cached=True,
                    queue_wait=metrics.queue_wait,
                    detail=f"cache hit from run {hit.run_id} node {hit.node_id}",
                )
                self._done.append(_Done(node_id, outputs, result, event="cached"))
                return
        task = NodeTask(
            run_id=self.run_id,
            node_id=node_id,
            kind=prepared.kind,
            uses=prepared.uses,
            config=prepared.config,
            factory=prepared.factory,
            call=prepared.call,
            inputs=inputs,
            cpu_bound=prepared.cpu_bound,
            blocking=prepared.blocking,
        )
        await self._attempts(node_id, prepared, task, key)

    async def _attempts(self, node_id: str, prepared: _Prepared, task: NodeTask, key: str | None) -> None:
        metrics = self.metrics[node_id]
        options = prepared.options
        policy = options.policy(self.retry) if options.attempts != 1 else None
        attempts, attempt = (policy.max_attempts if policy is not None else 1), 0
        while True:
            attempt += 1
            metrics.attempts = attempt
            grant = None
            preemption = _Preemption() if self.admission is not None and options.preemptible else None
            if self.admission is not None:
                grant = await self._admit(node_id, options, preemption, attempts)
                if grant is None:
                    return
            began = time.perf_counter()
            try:
                if self.sinks:
                    self.emit("node.running", node=node_id, attempt=attempt)
                invocation = self._invocation(node_id, prepared, task, attempt)
                outputs = await self._call(invocation, options.timeout, preemption)
                blob, ref = await self.encode(node_id, outputs) if self.records is not None else (None, None)
                self._produced(node_id, prepared, blob, ref)
            except asyncio.CancelledError:
                metrics.run_time += time.perf_counter() - began
                metrics.state = "cancelled"
                raise
            except _Preempted:
                metrics.run_time += time.perf_counter() - began
                metrics.preemptions += 1
                self.emit("node.preempted", node=node_id, attempt=attempt, preemptions=metrics.preemptions)
                attempt -= 1  # queued again: the same attempt, not another
                continue
            except Exception as error:
                metrics.run_time += time.perf_counter() - began
                failure = NodeFailure.of(node_id, attempt, attempts, error)
                retry = policy is not None and attempt < attempts and not self.cancelling
                if retry and policy is not None and is_retryable(error, options.retry_on):
                    if grant is not None:  # no slot is held through the back-off
                        await self._give_back(grant)
                        grant = None
                    delay = policy.delay(attempt + 1)
                    self.emit("node.retrying", **msgspec.to_builtins(failure), delay=delay)
                    await asyncio.sleep(delay)
                    continue
                self._failed(node_id, failure)
                return
            finally:
                if grant is not None:
                    await self._give_back(grant)
            metrics.run_time += time.perf_counter() - began
            self._succeeded(node_id, prepared, outputs, (blob, ref), key)
            return

    def _succeeded(
        self,
        node_id: str,
        prepared: _Prepared,
        outputs: Mapping[str, Any],
        encoded: tuple[bytes | None, str | None],
        key: str | None,
    ) -> None:
        metrics = self.metrics[node_id]
        result = NodeCheckpoint(
            node_id=node_id,
            state="succeeded",
            attempts=metrics.attempts,
            outputs=encoded[0],
            outputs_ref=encoded[1],
            queue_wait=metrics.queue_wait,
            run_time=metrics.run_time,
            cache_key=key,
            uses=prepared.uses,
        )
        self._done.append(_Done(node_id, outputs, result))

    def _failed(self, node_id: str, failure: NodeFailure) -> None:
        metrics = self.metrics[node_id]
        result = NodeCheckpoint(
            node_id=node_id,
            state="failed",
            attempts=failure.attempt,
            error=failure.message(),
            queue_wait=metrics.queue_wait,
            run_time=metrics.run_time,
        )
        self._done.append(_Done(node_id, None, result, failure))

    async def _call(self, invocation: Invocation, timeout: float | None, preemption: _Preemption | None) -> Any:
        """One attempt's call, under its timeout; a preemptible one in a task of its own, cancelled if preempted."""
        if preemption is None:
            if timeout is None:
                return await self.invoke(invocation)
            async with asyncio.timeout(timeout):
                return await self.invoke(invocation)

        async def call() -> Any:
            return await self._call(invocation, timeout, None)

        if preemption.fired:
            raise _Preempted
        preemption.call = asyncio.ensure_future(call())
        try:
            return await preemption.call
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if preemption.fired and (current is None or not current.cancelling()):
                raise _Preempted from None
            raise

    # -- arbitration and prewarming ---------------------------------------------------

    async def _admit(
        self, node_id: str, options: NodeOptions, preemption: _Preemption | None, attempts: int
    ) -> ResourceGrant | None:
        """The engine's grant of one attempt's resources (the wait counts as queue time); None: the node failed.

        A queue timeout or a request the engine refuses fails the node at once: no retry would help.
        """
        assert self.admission is not None
        metrics = self.metrics[node_id]
        metrics.state = "waiting"
        began = time.perf_counter()
        try:
            grant = await self.admission.acquire(node_id, options, preemption)
        except Exception as error:
            self._failed(node_id, NodeFailure.of(node_id, metrics.attempts, attempts, error))
            return None
        finally:
            metrics.queue_wait += time.perf_counter() - began
        metrics.state = "running"
        return grant

    async def _give_back(self, grant: ResourceGrant) -> None:
        """Release an attempt's grant; a failing engine is reported, never masks how the attempt ended."""
        assert self.admission is not None
        try:
            await self.admission.release(grant)  # in this step: a grant it frees goes out at once
        except Exception as error:
            self.emit("run.release_failed", grant=grant.grant_id, error=f"{type(error).__name__}: {error}")

    def _waiting(self, node_id: str, explanation: WaitExplanation | None) -> None:
        """A node started or stopped waiting for resources, or the reason changed: publish and record it."""
        if explanation is None:
            if self.waiting.pop(node_id, None) is None:
                return
        else:
            entry = msgspec.to_builtins(explanation)
            entry["message"] = describe_wait(explanation)
            self.waiting[node_id] = entry
            self.emit("node.waiting", node=node_id, **entry)
        if self.records is not None and self._waits_timer is None:
            self._waits_timer = asyncio.get_running_loop().call_later(_RECORD_WAITS_EVERY, self._record_waits)

    def _record_waits(self) -> None:
        """Write the waits to the run record: at most one write per ``_RECORD_WAITS_EVERY`` however many change."""
        self._waits_timer = None
        if self.records is None or (not self.waiting and not self._waits_recorded):
            return
        if self._waits_write is not None:  # one write at a time: try again once it is done
            self._waits_timer = asyncio.get_running_loop().call_later(_RECORD_WAITS_EVERY, self._record_waits)
            return
        self._waits_write = asyncio.create_task(self._write_waits())

    async def _write_waits(self) -> None:
        assert self.records is not None
        waiting = dict(self.waiting)
        try:
            await self.records.update_run(
                self.run_id, RunUpdate(waiting=msgspec.msgpack.encode(waiting) if waiting else None)
            )
        except Exception as error:  # what a node waits for is a courtesy to `runs show`: the run goes on
            self.emit("run.record_failed", what="waiting", error=f"{type(error).__name__}: {error}")
        else:
            self._waits_recorded = bool(waiting)
        finally:
            self._waits_write = None

    def _prewarm(self) -> None:
        """Ask the pool to warm the models of the instrument nodes the lookahead says are due."""
        assert self.lookahead is not None
        # A ready node allocates its models itself at once: warming them for it would only count a false hit.
        due = self.lookahead.due(lambda node_id: self.metrics[node_id].state != "pending")
        if due:
            task = asyncio.create_task(self._prewarm_models(due))
            self._prewarming.add(task)
            task.add_done_callback(self._prewarming.discard)

    async def _prewarm_models(self, due: list[tuple[str, str]]) -> None:
        assert self.pool is not None
        reason = f"lookahead of run {self.run_id}"
        warmed = []
        for model, node_id in due:
            try:
                await self.pool.prewarm(model, reason=reason)  # type: ignore[arg-type]
            except Exception:  # an unknown model, or a pool that cannot warm it now: the node allocates it
                continue
            warmed.append({"model": model, "node": node_id, "at": time.time(), "reason": reason})
        if warmed:
            self.prewarmed += warmed
            self.emit("run.prewarmed", models=warmed)
            if self.records is not None:
                update = RunUpdate(prewarmed=msgspec.msgpack.encode(self.prewarmed))
                try:
                    await self.records.update_run(self.run_id, update)
                except Exception as error:  # like the waits, a courtesy to `runs show`: the run goes on
                    self.emit("run.record_failed", what="prewarmed", error=f"{type(error).__name__}: {error}")

    def _invocation(self, node_id: str, prepared: _Prepared, task: NodeTask, attempt: int) -> Invocation:
        """One attempt as ``symphony_invoke`` wrappers see it; the executor makes the call with its inputs."""

        def call(inputs: Mapping[str, Any]) -> Any:
            return self.executor.run(task if inputs is task.inputs else dataclasses.replace(task, inputs=inputs))

        return Invocation(
            kind="instrument" if prepared.kind == "instrument" else "operator",
            target=prepared.uses,
            inputs=task.inputs,
            call=call,
            plugin=prepared.plugin,
            extension=prepared.extension,
            runtime=prepared.runtime,
            node_id=node_id,
            run_id=self.run_id,
            attributes={"symphony.attempt": attempt},
        )

    async def encode(self, node_id: str, outputs: Mapping[str, Any]) -> tuple[bytes | None, str | None]:
        """Outputs as MessagePack, or an artifact id when larger than ``inline_limit``."""
        try:
            blob = msgspec.msgpack.encode(outputs)
        except (TypeError, msgspec.EncodeError) as error:
            raise TypeError(
                f"Its outputs cannot be checkpointed ({error}); return JSON-like values (str, numbers, bool, None,"
                " lists, dicts, bytes)."
            ) from None
        if self.artifacts is not None and len(blob) > self.options.inline_limit:
            ref = await self.artifacts.store(blob, {"run_id": self.run_id, "node": node_id, "type": "node-outputs"})
            return None, str(ref)
        return blob, None

    async def decode(self, blob: bytes | None, ref: str | None) -> dict[str, Any]:
        return await decode_outputs(self.artifacts, blob, ref)

    # -- lineage ----------------------------------------------------------------------

    def _produced(self, node_id: str, prepared: _Prepared, blob: bytes | None, ref: str | None) -> None:
        """Note a node's outputs artifact id (the digest of its checkpointed blob) and queue its lineage."""
        if self.catalog is None or (blob is None and ref is None):
            return
        from ..artifacts.catalog import Lineage

        artifact_id = ref if ref is not None else _digest(blob or b"")
        self.artifact_ids[node_id] = artifact_id
        entry = Lineage(
            artifact_id=artifact_id,
            run_id=self.run_id,
            node_id=node_id,
            contribution=prepared.uses,
            contribution_version=prepared.version,
            inputs=self._input_ids(node_id),
        )
        self._lineage.append(entry)
        if len(self._lineage) >= _LINEAGE_BATCH:
            self._record_behind()

    def _record_behind(self) -> None:
        """Record the queued lineage in one transaction behind the run, after the batches before it."""
        if self._lineage:
            batch, self._lineage = self._lineage, []
            self._behind = asyncio.create_task(self._record(self._behind, batch))

    async def _record(self, previous: asyncio.Task[None] | None, batch: list[Lineage]) -> None:
        assert self.catalog is not None
        if previous is not None:
            await previous
        try:
            await asyncio.to_thread(self.catalog.record, batch)
        except Exception as error:  # lineage is a record of the run, not its result: the run goes on
            nodes = [entry.node_id for entry in batch]
            self.emit("run.lineage_failed", nodes=nodes, error=f"{type(error).__name__}: {error}")

    def _input_ids(self, node_id: str) -> list[str]:
        """The artifacts a node read: its sources' outputs (through control nodes), and the run's inputs."""
        found: list[str] = []
        if node_id in self.plan.nodes and self.plan.nodes[node_id].from_inputs:
            if self._inputs_id is None:
                self._inputs_id = _digest(msgspec.msgpack.encode(dict(self._inputs)))
            found.append(self._inputs_id)
        for source in self._sources.get(node_id, ()):
            if source == INPUTS_NODE:
                continue
            if isinstance(self.plan.nodes[source].node, ControlNode):
                found += self._input_ids(source)
            elif source in self.artifact_ids:
                found.append(self.artifact_ids[source])
            elif source in self.restored and self.restored[source][0] is not None:
                found.append(_digest(msgspec.msgpack.encode(self.restored[source][0])))
        return list(dict.fromkeys(found))

    # -- cancellation and the end -----------------------------------------------------

    def cancel(self) -> None:
        """Stop launching and cancel every running node."""
        if self.cancelling:
            return
        self.cancelling = True
        self.emit("run.cancelling")
        for task in self._tasks.values():
            task.cancel()
        self._wake.set()

    async def _watch_cancel(self) -> None:
        """Honour ``symphony runs cancel`` from another process (it sets a flag in the run's record)."""
        assert self.records is not None
        while not self.cancelling:
            await asyncio.sleep(_WATCH_CANCEL_EVERY)
            try:
                record = await self.records.get_run(self.run_id)
            except Exception as error:  # the service may be back at the next poll; saves fail the run if not
                self.emit("run.record_failed", what="cancel_requested", error=f"{type(error).__name__}: {error}")
                continue
            if record is not None and record.cancel_requested:
                self.cancel()

    async def _finish(self) -> RunResult:
        if self.cancelling:
            state = "cancelled"
            stopped = []
            for node_id, metrics in self.metrics.items():
                if metrics.state in ("ready", "waiting", "running", "cancelled"):
                    metrics.state = "cancelled"
                    stopped.append(
                        NodeCheckpoint(
                            node_id=node_id,
                            state="cancelled",
                            attempts=metrics.attempts,
                            error="The run was cancelled.",
                            queue_wait=metrics.queue_wait,
                            run_time=metrics.run_time,
                        )
                    )
            if self.records is not None:
                await save_nodes(self.records, self.run_id, stopped)  # so `runs show` says what this process reports
        else:
            state = "failed" if self.failure is not None else "succeeded"
        outputs: dict[str, Any] = {}
        for name, ref in self.plan.workflow.outputs.items():
            node_id, _, port = ref.partition(".")
            produced = self.outputs.get(node_id)
            outputs[name] = None if produced is None else produced.get(port)
        run_totals = totals(
            self.metrics.values(), wall_time=time.perf_counter() - self._started, restored=len(self.restored)
        )
        error = None
        if self.failure is not None:
            error = self.failure.message()
        elif state == "cancelled":
            error = "The run was cancelled."
        result = RunResult(
            run_id=self.run_id,
            workflow_id=self.plan.workflow.id,
            state=state,
            outputs=outputs,
            error=error,
            failure=self.failure,
            nodes=self.metrics,
            metrics=run_totals,
        )
        if self._waits_timer is not None:
            self._waits_timer.cancel()
        if self._waits_write is not None:  # the final write below must be the last
            await asyncio.gather(self._waits_write, return_exceptions=True)
        if self.records is not None:
            final = RunUpdate(
                waiting=None,
                state=state,
                finished_at=time.time(),
                error=error,
                failure_category=None if self.failure is None else self.failure.category,
                outputs=_recordable(msgspec.msgpack.encode(outputs)),
                metrics=msgspec.msgpack.encode(run_totals),
            )
            await self.records.update_run(self.run_id, final)
        self.emit(f"run.{state}", error=error, metrics=msgspec.to_builtins(run_totals))
        return result


def catalog_of(artifacts: ArtifactStorePort | None) -> Catalog | None:
    """The builtin store's catalog, where lineage is recorded; None for a store that keeps no lineage."""
    if artifacts is None:
        return None
    from ..artifacts.catalog import Catalog

    catalog = getattr(artifacts, "catalog", None)
    return catalog if isinstance(catalog, Catalog) else None


async def save_nodes(records: DataAccessPort, run_id: str, nodes: list[NodeCheckpoint]) -> None:
    """Save ``nodes`` in as few calls as the service's bounds on a request allow (one, unless the step is huge)."""
    if len(nodes) == 1:  # a chain's every save: one node is one call, whatever it weighs
        await records.save_nodes(run_id, nodes)
        return
    batch: list[NodeCheckpoint] = []
    size = 0
    for node in nodes:
        weight = 256 + len(node.outputs or b"") + len(node.error or "") + len(node.detail or "")
        if batch and (len(batch) == SAVE_NODES_MAX or size + weight > SAVE_BYTES_MAX):
            await records.save_nodes(run_id, batch)
            batch, size = [], 0
        batch.append(node)
        size += weight
    if batch:
        await records.save_nodes(run_id, batch)


def _recordable(outputs: bytes) -> bytes | None:
    """A run's outputs for its record, unless too large for one request (its nodes' checkpoints hold them anyway)."""
    return outputs if len(outputs) <= RECORD_BYTES_MAX else None


def _save_failed(run_id: str, error: Exception) -> Exception:
    """The error that stops a run whose checkpoints could not be saved: its category, which run, how to go on."""
    if not isinstance(error, SymphonyError):
        return error
    failed = type(error)(
        f"Run {run_id} stopped: the data service could not save its checkpoints: {error}"
        f" Nodes whose checkpoints were saved are kept; once the service is back,"
        f" `symphony runs resume {run_id}` continues the run."
    )
    failed.__cause__ = error
    return failed


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


async def decode_outputs(artifacts: ArtifactStorePort | None, blob: bytes | None, ref: str | None) -> dict[str, Any]:
    """Checkpointed outputs, inline or from the artifact store."""
    if ref is not None:
        if artifacts is None:
            raise RuntimeError(f"Outputs are in artifact {ref}, but no artifact store is available.")
        blob = await artifacts.retrieve(ref)  # type: ignore[arg-type]
    decoded: dict[str, Any] = msgspec.msgpack.decode(blob or b"\x80")
    return decoded
