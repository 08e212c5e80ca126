"""The Pit: Pool Manager, DAG Tracker, Artifact Store, Arbitration Engine, Stale Manager.

``PitPort`` is the seed's facade over the five; each also has its own port so
a distribution can replace one without the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from .._base import Base
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
    "StaleManagerPort",
]

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


@runtime_checkable
class DagTrackerPort(Protocol):
    async def execute(self, workflow: Any, inputs: Mapping[str, Any]) -> ExecutionId:
        """Start a run of ``workflow`` (a validated workflow) and return its id."""
        ...

    async def status(self, execution_id: ExecutionId) -> ExecutionStatus: ...

    async def cancel(self, execution_id: ExecutionId) -> None: ...

    async def resume(self, execution_id: ExecutionId) -> ExecutionId:
        """Continue a failed or interrupted run without redoing finished nodes."""
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
