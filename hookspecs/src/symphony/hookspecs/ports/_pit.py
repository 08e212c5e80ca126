"""The Pit: Pool Manager, DAG Tracker, Artifact Store, Arbitration Engine, Stale Manager.

``PitPort`` is the seed's facade over the five; each also has its own port so
a distribution can replace one without the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from .._base import Base
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
    "PitPort",
    "PoolManagerPort",
    "ResourceGrant",
    "ResourceRequest",
    "RunOutcome",
    "RunSink",
    "StaleManagerPort",
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


class ResourceRequest(Base, frozen=True):
    """What a node needs before it may run."""

    requester: str
    resources: dict[str, float]
    priority: int = 0


class ResourceGrant(Base, frozen=True):
    """Resources reserved for ``requester`` until released."""

    grant_id: str
    requester: str
    resources: dict[str, float]


@runtime_checkable
class PoolManagerPort(Protocol):
    """Model allocation and pre-warming, so instruments share warm models instead of each loading its own.

    Provided by:
        ``symphony_provide_pool_manager``; no builtin provides it yet.

    Lifetime:
        One per host; a handle is held from ``allocate`` until ``release``
        (the pool may cool an unreferenced model: hot -> cooling -> cold).

    Threads and processes:
        Call from the host's event loop; models may live in other processes.

    Errors:
        NotFoundError for an unknown model, ValidationError for a handle the
        pool did not give out.

    Since:
        1.0
    """

    async def allocate(self, model_id: ModelId) -> ModelHandle:
        """A hot model; warms it first on a miss (seed target: <100 µs on a hit).

        Raises:
            NotFoundError: no such model is known to the pool.
        """
        ...

    async def release(self, handle: ModelHandle) -> None:
        """Give the model back; raises ValidationError for a handle already released or not the pool's."""
        ...

    async def prewarm(self, model_id: ModelId) -> None:
        """Start warming the model so a later ``allocate`` hits; returns without waiting for it."""
        ...

    async def state(self, model_id: ModelId) -> ModelState:
        """Where the model is in cold -> warming -> hot -> cooling; raises NotFoundError for an unknown model."""
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
    """Resource arbitration between competing nodes, so concurrent runs never oversubscribe a GPU or a quota.

    Provided by:
        ``symphony_provide_arbitration_engine``; no builtin provides it yet.

    Lifetime:
        A grant holds its resources from ``acquire`` until ``release`` (or the host stops).

    Threads and processes:
        Call from the host's event loop; need not be thread-safe.

    Errors:
        ValidationError for a request no capacity could ever satisfy or a
        grant already released.

    Since:
        1.0
    """

    async def acquire(self, request: ResourceRequest) -> ResourceGrant:
        """Wait until the resources are free (higher ``priority`` first), then reserve them.

        Cancelling the waiting task withdraws the request.

        Raises:
            ValidationError: the request exceeds the total capacity.
        """
        ...

    async def release(self, grant: ResourceGrant) -> None:
        """Free the grant's resources for waiting requests; raises ValidationError for a grant already released."""
        ...


@runtime_checkable
class StaleManagerPort(Protocol):
    """Staleness tracking, so artifacts that no longer reflect their inputs are found and reclaimed.

    Provided by:
        ``symphony_provide_stale_manager``; no builtin provides it yet.

    Lifetime:
        Stale marks are durable, like the artifacts they describe.

    Threads and processes:
        Call from the host's event loop; need not be thread-safe.

    Errors:
        DataError when its records cannot be read or written.

    Since:
        1.0
    """

    async def mark_stale(self, artifact_ids: list[ArtifactId], reason: str) -> None:
        """Record that these artifacts no longer reflect their inputs."""
        ...

    async def is_stale(self, artifact_id: ArtifactId) -> bool:
        """Whether the artifact was marked stale (an unknown artifact is not)."""
        ...

    async def sweep(self) -> int:
        """Reclaim what is stale and unreferenced; return how many were reclaimed."""
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
