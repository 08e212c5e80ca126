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
    async def allocate(self, model_id: ModelId) -> ModelHandle:
        """A hot model; warms it first on a miss (seed target: <100 µs on a hit)."""
        ...

    async def release(self, handle: ModelHandle) -> None: ...

    async def prewarm(self, model_id: ModelId) -> None: ...

    async def state(self, model_id: ModelId) -> ModelState: ...


class RunOutcome(Protocol):
    """How a run ended, as :meth:`DagTrackerPort.wait` reports it.

    Any object with these attributes will do (the builtin's ``RunResult`` adds
    per-node metrics); ``state`` is ``"succeeded"``, ``"failed"`` or ``"cancelled"``.
    """

    @property
    def run_id(self) -> str: ...

    @property
    def state(self) -> str: ...

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
    """Runs workflows: starts, follows, waits for, cancels and resumes runs.

    ``symphony run``, ``symphony runs resume|cancel`` and the conductor use
    only these methods, so a replacement must offer all of them.  One tracker
    serves one host process; its methods are called from that process's event
    loop and need not be thread-safe.  A run started by this tracker lives
    until it ends or :meth:`close` cancels it; a tracker that keeps records
    (the builtin does, in SQLite) may let another process ``status``,
    ``cancel`` and ``resume`` them.
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
        succeeded or is still running.  :meth:`wait` then gives its result.
        """
        ...

    async def close(self) -> None:
        """Cancel this tracker's running runs and release what it holds; called once, when its user stops."""
        ...


@runtime_checkable
class ArtifactStorePort(Protocol):
    async def store(self, content: bytes, metadata: Mapping[str, Any] | None = None) -> ArtifactId:
        """Store ``content`` by its SHA-256; storing the same bytes twice stores them once."""
        ...

    async def retrieve(self, artifact_id: ArtifactId) -> bytes:
        """The stored bytes; raises NotFoundError for an unknown id."""
        ...

    async def info(self, artifact_id: ArtifactId) -> ArtifactInfo: ...

    async def search(self, query: str, limit: int = 20) -> list[ArtifactInfo]: ...


@runtime_checkable
class ArbitrationEnginePort(Protocol):
    async def acquire(self, request: ResourceRequest) -> ResourceGrant:
        """Wait until the resources are free, then reserve them."""
        ...

    async def release(self, grant: ResourceGrant) -> None: ...


@runtime_checkable
class StaleManagerPort(Protocol):
    async def mark_stale(self, artifact_ids: list[ArtifactId], reason: str) -> None:
        """Record that these artifacts no longer reflect their inputs."""
        ...

    async def is_stale(self, artifact_id: ArtifactId) -> bool: ...

    async def sweep(self) -> int:
        """Reclaim what is stale and unreferenced; return how many were reclaimed."""
        ...


@runtime_checkable
class PitPort(Protocol):
    """The seed's facade: the three calls most callers need."""

    async def allocate_model(self, model_id: ModelId) -> ModelHandle: ...

    async def execute_workflow(self, workflow: Any) -> ExecutionId: ...

    async def store_artifact(self, content: bytes) -> ArtifactId: ...
