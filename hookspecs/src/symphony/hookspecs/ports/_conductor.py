"""ConductorPort: takes a workflow and inputs and sees it through (seed M1.1, M1.2)."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from .._base import Base
from .._ids import ExecutionId

__all__ = ["ConductorPort", "ConductorStatus", "OrchestrationRequest", "OrchestrationResult"]


class OrchestrationRequest(Base, frozen=True):
    """Run ``workflow`` (a Workflow, a document or a path to one) with ``inputs``.

    With ``resume`` (a run id), continue that run instead: its recorded
    workflow and inputs are used, so ``workflow`` may be None and ``inputs``
    must be empty.
    """

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
    #: Later fields, with defaults so that older peers' documents stay valid.
    #: ``embedded`` in the host's process, or ``process``: a separate conductor process.
    mode: Literal["embedded", "process"] = "embedded"
    #: The conductor process, in ``process`` mode (None while it is down).
    pid: int | None = None
    #: Times the conductor process was started again after it died or hung.
    restarts: int = 0
    #: Why the conductor is stopped, when it is (e.g. "its process (pid 812) was killed by SIGKILL").
    reason: str | None = None


@runtime_checkable
class ConductorPort(Protocol):
    async def orchestrate(self, request: OrchestrationRequest) -> OrchestrationResult: ...

    async def get_status(self) -> ConductorStatus: ...
