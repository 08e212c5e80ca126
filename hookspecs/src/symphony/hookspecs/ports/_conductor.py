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
    """Sees a workflow through from request to result, so callers need not drive the DAG tracker themselves.

    Provided by:
        ``symphony_provide_conductor``; builtin: plugin ``conductor``
        (embedded, or a supervised ``symphony conductor serve`` process), over
        the ``dag_tracker`` port.

    Lifetime:
        One per host, started and stopped with it; a run it started ends or is
        cancelled when the host stops.  A conductor in its own process may be
        restarted by its supervisor (``ConductorStatus.restarts``); an
        interrupted run can be resumed with ``OrchestrationRequest.resume``.

    Threads and processes:
        Call from the host's event loop; need not be thread-safe.  Requests and
        results are plain documents, so the conductor may live in another process.

    Errors:
        ValidationError for an invalid workflow or wrong inputs (every
        problem listed), NotFoundError for an unknown run to resume,
        TransportError when a conductor process cannot be reached.

    Since:
        1.0
    """

    async def orchestrate(self, request: OrchestrationRequest) -> OrchestrationResult:
        """Validate and run ``request.workflow`` (or resume ``request.resume``) and wait for its end.

        A failed or cancelled run is a result (``state`` and ``error``), not an exception.

        Raises:
            ValidationError: the workflow is invalid, an input is wrong, or the conductor is stopped.
            NotFoundError: ``resume`` names a run nobody knows.
        """
        ...

    async def get_status(self) -> ConductorStatus:
        """What the conductor is doing now (idle, busy with which runs, stopped and why); must not raise."""
        ...
