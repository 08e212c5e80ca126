"""ConductorPort: takes a workflow and inputs and sees it through (seed M1.1, M1.2)."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from .._base import Base
from .._ids import ExecutionId
from ._pit import RunSink

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

    async def submit(self, request: OrchestrationRequest, sink: RunSink | None = None) -> ExecutionId:
        """Validate and start the run of ``request`` (or resume it); return its id at once, before it ends.

        ``sink`` receives the run's ``run.*`` and ``node.*`` events (a
        conductor whose runs happen in another process may deliver none: the
        builtin's process mode does not).  ``symphony conductor serve``
        answers ``conductor.start`` with this, so a remote caller learns the
        run id even if the conductor dies mid-run.

        Raises:
            ValidationError: as ``orchestrate``; nothing runs then.
            NotFoundError: ``resume`` names a run nobody knows.
        """
        ...

    async def result(self, execution_id: ExecutionId, timeout: float | None = None) -> OrchestrationResult:
        """How a run this conductor submitted ended, once it ends; cancelling the wait does not cancel the run.

        Raises:
            TimeoutError: it has not ended within ``timeout`` seconds (the run goes on).
            NotFoundError: this conductor did not submit the run.
        """
        ...

    async def cancel(self, execution_id: ExecutionId) -> None:
        """Cancel a run; returns once cancellation is requested (its ``result`` then says ``cancelled``).

        Raises:
            NotFoundError: the run is unknown.
            ValidationError: the run already ended.
        """
        ...

    async def get_status(self) -> ConductorStatus:
        """What the conductor is doing now (idle, busy with which runs, stopped and why); must not raise."""
        ...

    async def close(self) -> None:
        """Take no more runs and stop following the running ones; called once, by whoever stops it.

        ``symphony conductor serve`` closes the conductor it served when it
        stops; the plugin that made the host's conductor closes it with the host.
        """
        ...
