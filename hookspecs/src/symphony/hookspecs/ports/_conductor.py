"""ConductorPort: takes a workflow and inputs and sees it through (seed M1.1, M1.2)."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from .._base import Base
from .._ids import ExecutionId

__all__ = ["ConductorPort", "ConductorStatus", "OrchestrationRequest", "OrchestrationResult"]


class OrchestrationRequest(Base, frozen=True):
    """Run ``workflow`` (a document or a path to one) with ``inputs``."""

    workflow: Any
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    resume: ExecutionId | None = None


class OrchestrationResult(Base, frozen=True):
    """How a run ended, and its outputs by node and port."""

    execution_id: ExecutionId
    state: Literal["succeeded", "failed", "cancelled"]
    outputs: dict[str, Any] = msgspec.field(default_factory=dict)
    error: str | None = None


class ConductorStatus(Base, frozen=True):
    """What the conductor is doing now."""

    state: Literal["idle", "busy", "stopped"]
    active_runs: tuple[ExecutionId, ...] = ()


@runtime_checkable
class ConductorPort(Protocol):
    async def orchestrate(self, request: OrchestrationRequest) -> OrchestrationResult: ...

    async def get_status(self) -> ConductorStatus: ...
