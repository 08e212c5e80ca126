"""The Pit: Pool Manager, DAG Tracker, Artifact Store, Arbitration Engine, Stale Manager.

``PitPort`` is the seed's facade over the five; each also has its own port so
a distribution can replace one without the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from .._base import Base
from .._contributions import StaleItem
from .._events import Event
from .._ids import ArtifactId, ExecutionId, ModelId

__all__ = [
    "ArbitrationEnginePort",
    "ArtifactInfo",
    "ArtifactStorePort",
    "DagTrackerPort",
    "ExecutionStatus",
    "ModelHandle",
    "ModelState",
    "ModelStatus",
    "PitPort",
    "PoolManagerPort",
    "PoolStatus",
    "ResourceGrant",
    "ResourceRequest",
    "RunOutcome",
    "RunSink",
    "StaleManagerPort",
    "StaleReport",
    "WaitExplanation",
]

#: Receives every event of one run (``run.*`` and ``node.*`` topics) as it happens, in the run's event loop.
RunSink = Callable[[Event], None]

#: The seed's model state machine: cold -> warming -> hot -> cooling -> cold.
ModelState = Literal["cold", "warming", "hot", "cooling"]


class ModelHandle(Base, frozen=True):
    """A model allocated from the pool; give it back with ``release``."""

    model_id: ModelId
    handle_id: str
    state: ModelState


class ExecutionStatus(Base, frozen=True):
    """Where a workflow run stands; ``nodes_done`` counts succeeded and skipped nodes."""

    execution_id: ExecutionId
    state: Literal["pending", "running", "succeeded", "failed", "cancelled"]
    nodes_total: int = 0
    nodes_done: int = 0
    nodes_failed: int = 0
    error: str | None = None
    #: Later fields, with defaults so that older peers' documents stay valid.
    nodes_running: int = 0
    nodes_skipped: int = 0


class ArtifactInfo(Base, frozen=True):
    """A stored artifact's address, size and metadata."""

    artifact_id: ArtifactId
    size: int
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class ModelStatus(Base, frozen=True):
    """One model as the pool sees it now (``symphony pool status``)."""

    model_id: ModelId
    state: ModelState
    #: Handles given out and not yet released.
    handles: int = 0
    #: Worker processes (instances) alive.
    instances: int = 0
    #: Measured resident memory of its workers, in bytes (0 when cold).
    rss: int = 0
    #: Unix time of the last allocation or call (None: never used).
    last_used: float | None = None
    cold_starts: int = 0
    #: Warm-ups started by prediction (lookahead or history) rather than by an allocation.
    prewarms: int = 0
    #: Why the last warm-up or the last worker failed, if one did.
    error: str | None = None
    #: Seconds the last successful warm-up's loader took in its worker (None: never warmed).
    load_seconds: float | None = None


class PoolStatus(Base, frozen=True):
    """The whole pool: every known model and the counters the seed's targets are read from."""

    models: list[ModelStatus] = msgspec.field(default_factory=list)
    #: The memory budget of hot models in bytes (None: only the count bounds them).
    memory_budget: int | None = None
    max_hot: int = 0
    allocations: int = 0
    #: Allocations that found the model hot.
    hits: int = 0
    #: Allocations that had to wait for a warm-up.
    cold_starts: int = 0
    #: Allocations that found a model hot or warming because prediction had started it.
    prewarm_hits: int = 0
    #: Warm-ups prediction started.
    predictions: int = 0
    evictions: int = 0
    #: Worker deaths detected (and replaced, when the model was in use).
    failures: int = 0


class ResourceRequest(Base, frozen=True):
    """What a requester (a node, a warm-up) needs before it may run, all of it at once.

    ``resources`` maps a resource name (``slots``, ``memory``, ``model:<id>``,
    ``budget:<name>``...) to an amount; the engine grants all of them together
    or none, so a waiting request never holds a part.  ``user`` and ``run_id``
    are whom fair sharing and quotas count it against.
    """

    requester: str
    resources: dict[str, float]
    priority: int = 0
    user: str = ""
    run_id: str = ""
    #: Seconds to wait before giving up with a TimeoutError (None: the engine's setting).
    timeout: float | None = None
    #: The holder may be asked to give the grant back early (``on_preempt``) for a higher priority.
    preemptible: bool = False
    #: What the requester is, in words, for explanations (``node 'summarise' of run 3f2a...``).
    description: str = ""


class ResourceGrant(Base, frozen=True):
    """Resources reserved for ``requester`` until released."""

    grant_id: str
    requester: str
    resources: dict[str, float]


class WaitExplanation(Base, frozen=True):
    """Why a request is still waiting: what it lacks, behind whom, and the rule that decided."""

    requester: str
    description: str
    #: Seconds it has waited so far.
    waited: float
    #: Resource name -> amount requested but not available now.
    lacking: dict[str, float] = msgspec.field(default_factory=dict)
    #: Requesters queued ahead of it, or holding what it lacks.
    behind: list[str] = msgspec.field(default_factory=list)
    #: One sentence: ``"quota: user 'bob' holds 4 of 4 slots"``, ``"priority: 2 requests of priority 5 first"``.
    reason: str = ""


@runtime_checkable
class PoolManagerPort(Protocol):
    """Model allocation and pre-warming, so instruments share warm models instead of each loading its own.

    Models are the ``symphony_models`` contributions (``ModelSpec``); each
    instance runs in a worker process, so a crash costs one handle, not the
    host.  A model moves cold -> warming -> hot -> cooling -> cold; every
    transition is published as a ``pool.model.<state>`` event.

    Provided by:
        ``symphony_provide_pool_manager``; builtin: plugin ``pool``.

    Lifetime:
        One per host; a handle is held from ``allocate`` until ``release``
        (or use ``async with pool.use(model_id) as handle``); the pool cools a
        model unreferenced for its idle timeout and evicts the least recently
        used when over its count or memory budget.  ``close`` unloads every model.

    Threads and processes:
        Call from the host's event loop; models live in worker processes.

    Errors:
        NotFoundError for an unknown model, ValidationError for a handle the
        pool did not give out or already took back, ModelUnavailableError
        (retryable) when a model's worker died or its warm-up failed.

    Since:
        1.0
    """

    async def allocate(self, model_id: ModelId) -> ModelHandle:
        """A hot model; warms it first on a miss (seed target: <100 µs on a hit).

        Raises:
            NotFoundError: no such model is known to the pool.
            ModelUnavailableError: the warm-up failed (the cause is in the message).
        """
        ...

    async def release(self, handle: ModelHandle) -> None:
        """Give the model back; raises ValidationError for a handle already released or not the pool's."""
        ...

    def use(self, model_id: ModelId) -> AbstractAsyncContextManager[ModelHandle]:
        """``allocate`` on entry and ``release`` on exit, also when the body raises."""
        ...

    async def call(self, handle: ModelHandle, method: str, payload: Any = None) -> Any:
        """Run ``method(payload)`` of the loaded model in its worker and return the result.

        Raises:
            ValidationError: the handle is not held.
            ModelUnavailableError: the worker died during or before the call (retryable:
                the pool is replacing it).
        """
        ...

    async def prewarm(self, model_id: ModelId, reason: str = "") -> None:
        """Start warming the model so a later ``allocate`` hits; returns without waiting for it.

        ``reason`` says who predicted the need (``lookahead of run 3f2a...``), for events and status.
        """
        ...

    async def unload(self, model_id: ModelId) -> None:
        """Cool the model now (hot -> cooling -> cold) once its handles are released."""
        ...

    async def state(self, model_id: ModelId) -> ModelState:
        """Where the model is in cold -> warming -> hot -> cooling; raises NotFoundError for an unknown model."""
        ...

    def status(self) -> PoolStatus:
        """Every known model's state and the pool's counters, without waiting."""
        ...

    async def close(self) -> None:
        """Unload every model and stop every worker; safe to call twice."""
        ...


class RunOutcome(Protocol):
    """How a run ended, as ``DagTrackerPort.wait`` reports it.

    Any object with these attributes will do (the builtin's ``RunResult`` adds
    per-node metrics).

    Lifetime:
        A value: it does not change once returned.

    Threads and processes:
        Read-only, so safe to share.

    Errors:
        None.

    Since:
        1.0
    """

    @property
    def run_id(self) -> str:
        """The run's id."""
        ...

    @property
    def state(self) -> str:
        """``"succeeded"``, ``"failed"`` or ``"cancelled"``."""
        ...

    @property
    def outputs(self) -> dict[str, Any]:
        """The workflow's named outputs; an output the run did not produce is None."""
        ...

    @property
    def error(self) -> str | None:
        """Why the run failed or was cancelled (None when it succeeded)."""
        ...


@runtime_checkable
class DagTrackerPort(Protocol):
    """Runs workflows: starts, follows, waits for, cancels and resumes runs, with checkpoints.

    ``symphony run``, ``symphony runs resume|cancel`` and the conductor use
    only these methods, so a replacement must offer all of them.

    Provided by:
        ``symphony_provide_dag_tracker``; builtin: plugin ``dag`` (checkpointed runs in SQLite).

    Lifetime:
        A run started by this tracker lives until it ends or ``close``
        cancels it; a tracker that keeps records (the builtin does) may let
        another process ``status``, ``cancel`` and ``resume`` them.

    Threads and processes:
        One tracker serves one host process; its methods are called from that
        process's event loop and need not be thread-safe.

    Errors:
        ValidationError for an invalid workflow, wrong inputs or a run in the
        wrong state; NotFoundError for an unknown run; DataError when its
        records cannot be read or written.

    Since:
        1.0
    """

    async def execute(self, workflow: Any, inputs: Mapping[str, Any], sink: RunSink | None = None) -> ExecutionId:
        """Start a run of ``workflow`` (a ``Workflow``) with ``inputs``; return its id at once.

        ``sink`` receives the run's events besides the host's.  Raises
        ValidationError (every problem listed) when the workflow is invalid
        or an input is wrong; nothing is run then.
        """
        ...

    async def status(self, execution_id: ExecutionId) -> ExecutionStatus:
        """Where a run stands now; raises NotFoundError for a run this tracker does not know."""
        ...

    async def wait(self, execution_id: ExecutionId) -> RunOutcome:
        """Wait for a run this tracker started (or resumed) to end, and return how it ended.

        Raises NotFoundError when it is not running here.  Cancelling the
        waiting task does not cancel the run.
        """
        ...

    async def cancel(self, execution_id: ExecutionId) -> None:
        """Cancel a run: its running nodes are cancelled and no more start.

        Returns once the cancellation is requested; ``status`` tells when it
        took effect.  Raises NotFoundError for an unknown run, ValidationError
        for one that already ended.
        """
        ...

    async def resume(self, execution_id: ExecutionId, sink: RunSink | None = None) -> ExecutionId:
        """Continue a failed, cancelled or interrupted run without redoing finished nodes; return its id.

        Raises NotFoundError for an unknown run, ValidationError for one that
        succeeded or is still running.  ``wait`` then gives its result.
        """
        ...

    async def close(self) -> None:
        """Cancel this tracker's running runs and release what it holds; called once, when its user stops."""
        ...


@runtime_checkable
class ArtifactStorePort(Protocol):
    """Content-addressed storage, so equal outputs are stored once and named by what they contain.

    Provided by:
        ``symphony_provide_artifact_store``; builtin: plugin ``artifacts`` (a
        directory under ``<data_dir>/artifacts``).

    Lifetime:
        Artifacts outlive the host (they are durable state) until the stale
        manager or the user reclaims them.

    Threads and processes:
        Call from the host's event loop; writes are atomic, so several
        processes may share one store.

    Errors:
        NotFoundError for an unknown artifact, ValidationError for a malformed
        id, DataError when the storage cannot be written.

    Since:
        1.0
    """

    async def store(self, content: bytes, metadata: Mapping[str, Any] | None = None) -> ArtifactId:
        """Store ``content`` by its SHA-256 (``sha256:<hex>``); storing the same bytes twice stores them once."""
        ...

    async def retrieve(self, artifact_id: ArtifactId) -> bytes:
        """The stored bytes; raises NotFoundError for an unknown id, ValidationError for a malformed one."""
        ...

    async def info(self, artifact_id: ArtifactId) -> ArtifactInfo:
        """The artifact's size and metadata; raises NotFoundError for an unknown id."""
        ...

    async def search(self, query: str, limit: int = 20) -> list[ArtifactInfo]:
        """At most ``limit`` artifacts matching ``query``, best first.

        What matches is the provider's to say; the builtin matches whole words of
        the text and metadata in its full-text index, ranked by relevance and quality.
        """
        ...


@runtime_checkable
class ArbitrationEnginePort(Protocol):
    """Decides who gets scarce resources when runs compete, so none oversubscribes a worker, memory or budget.

    Requests are granted all or nothing, by priority, then weighted fair
    share between users and runs, within quotas; every wait has an explanation.

    Provided by:
        ``symphony_provide_arbitration_engine``; builtin: plugin ``arbitration``.

    Lifetime:
        A grant holds its resources from ``acquire`` until ``release`` (or the
        host stops); budget resources (``budget:<name>``) are consumed, not given back.

    Threads and processes:
        Call from the host's event loop; need not be thread-safe.

    Errors:
        ValidationError for a request no capacity could ever satisfy, an
        unknown resource or a grant already released; TimeoutError when a
        request waited past its timeout.

    Since:
        1.0
    """

    async def acquire(self, request: ResourceRequest, on_preempt: Callable[[], None] | None = None) -> ResourceGrant:
        """Wait until every requested resource is free for this requester, then reserve them all at once.

        Cancelling the waiting task withdraws the request.  ``on_preempt`` is
        called (once) when a ``preemptible`` grant is wanted back; the holder
        should stop and ``release`` it.

        Raises:
            ValidationError: the request exceeds the total capacity or a quota, or names an unknown resource.
            TimeoutError: it waited longer than its timeout.
        """
        ...

    async def release(self, grant: ResourceGrant) -> None:
        """Free the grant's resources for waiting requests; raises ValidationError for a grant already released."""
        ...

    def explain(self, requester: str) -> WaitExplanation | None:
        """Why ``requester`` is waiting now (None: it is not waiting)."""
        ...

    def waiting(self) -> list[WaitExplanation]:
        """Every waiting request's explanation, in the order they would be granted."""
        ...


class StaleReport(Base, frozen=True):
    """What is stale now (``report``) or what was reclaimed (``collect``), per source."""

    items: list[StaleItem] = msgspec.field(default_factory=list)
    #: Source name -> why it could not be asked (the others still report).
    errors: dict[str, str] = msgspec.field(default_factory=dict)
    dry_run: bool = False

    @property
    def size(self) -> int:
        """Bytes the items free."""
        return sum(item.size for item in self.items)


@runtime_checkable
class StaleManagerPort(Protocol):
    """Finds what is out of date or past its retention, and reclaims it.

    What is stale is each component's to say: it contributes a
    ``StaleSource`` through ``symphony_stale_sources`` (the builtins: node
    cache entries whose contribution version, configuration or inputs changed;
    finished runs' checkpoints and logs past retention; hot models idle past
    their timeout; artifact chunks nothing references).  Stale marks set with
    ``mark_stale`` are durable.

    Provided by:
        ``symphony_provide_stale_manager``; builtin: plugin ``stale``.

    Lifetime:
        Stale marks are durable, like the artifacts they describe; a
        long-lived host (``conductor serve``) collects on a schedule.

    Threads and processes:
        Call from the host's event loop; need not be thread-safe.

    Errors:
        DataError when its records cannot be read or written; a failing
        source is reported in ``StaleReport.errors``, not raised.

    Since:
        1.0
    """

    async def mark_stale(self, artifact_ids: list[ArtifactId], reason: str) -> None:
        """Record that these artifacts no longer reflect their inputs."""
        ...

    async def is_stale(self, artifact_id: ArtifactId) -> bool:
        """Whether the artifact was marked stale (an unknown artifact is not)."""
        ...

    async def report(self) -> StaleReport:
        """Everything every source finds stale now; changes nothing."""
        ...

    async def collect(self, dry_run: bool = False) -> StaleReport:
        """Reclaim what is stale (``dry_run``: only say what would go) and report what was reclaimed."""
        ...

    async def sweep(self) -> int:
        """``collect()`` and return how many items were reclaimed."""
        ...


@runtime_checkable
class PitPort(Protocol):
    """The seed's facade over the Pit: the three calls most callers need, so they need not find three ports.

    Provided by:
        ``symphony_provide_pit``; no builtin provides it yet.

    Lifetime:
        As the ports it fronts (pool manager, DAG tracker, artifact store).

    Threads and processes:
        Call from the host's event loop; need not be thread-safe.

    Errors:
        Those of the port each call delegates to.

    Since:
        1.0
    """

    async def allocate_model(self, model_id: ModelId) -> ModelHandle:
        """As ``PoolManagerPort.allocate``."""
        ...

    async def execute_workflow(self, workflow: Any) -> ExecutionId:
        """As ``DagTrackerPort.execute`` with no inputs: start a run and return its id."""
        ...

    async def store_artifact(self, content: bytes) -> ArtifactId:
        """As ``ArtifactStorePort.store`` without metadata."""
        ...
