"""The ``conductor`` port in ``process`` mode: a client of a supervised ``symphony conductor serve`` child.

The child is an endpoint on the host's bus, served over stdio and watched by
:class:`~..ipc.bus.supervisor.SupervisedEndpoint` (heartbeats, restarts with
backoff).  ``orchestrate`` sends ``conductor.start`` (the run id comes back at
once) and then long-polls ``conductor.wait``.  When the child dies, the
supervisor fails the pending ``wait`` at once; the client turns that into a
:class:`ConductorCrashedError` naming the run, whose finished nodes are
checkpointed.  The run is then resumed by the caller (``resume=RUN_ID``, or
``symphony runs resume RUN_ID``), or by the client itself after the
supervisor restarted the child when ``auto_resume`` allows it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec

from symphony.hookspecs import (
    ErrorPayload,
    ExecutionId,
    HealthStatus,
    MessageEnvelope,
    RequestPayload,
    ResponsePayload,
    TransportError,
)
from symphony.hookspecs.ports import (
    ConductorStatus,
    MessageBus,
    OrchestrationRequest,
    OrchestrationResult,
    RunSink,
)

from ..ipc.bus.supervisor import SupervisedEndpoint
from .options import ConductorOptions
from .wire import CANCEL, ENDPOINT, START, STATUS, WAIT, request_params

__all__ = ["ConductorCrashedError", "RemoteConductor"]

log = logging.getLogger("symphony.conductor")

#: Seconds a request other than ``wait`` may take (start validates the workflow; status and cancel are quick).
_REQUEST_TIMEOUT = 60.0
#: Extra seconds a ``wait`` request may take beyond its long-poll, for the trip.
_WAIT_MARGIN = 10.0


class ConductorCrashedError(TransportError):
    """The conductor process died while a request was pending.

    ``execution_id`` is the run it was running (None if it died before the run
    had an id); ``reason`` says what happened to the process.
    """

    def __init__(self, message: str, *, execution_id: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.execution_id = execution_id
        self.reason = reason


class RemoteConductor:
    """ConductorPort over the envelope, to a supervised child process; see the module docstring.

    :param bus: the bus the child's endpoint is registered on (any ``message_bus`` provider).
    :param argv: the child's command line (``symphony conductor serve``).
    :param env: the child's whole environment (None: inherit this process's).
    """

    mode: Literal["embedded", "process"] = "process"

    def __init__(
        self,
        bus: MessageBus,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        options: ConductorOptions | None = None,
        endpoint: str = ENDPOINT,
    ) -> None:
        self.options = options or ConductorOptions(mode="process")
        self.bus = bus
        self.endpoint = endpoint
        self.supervisor = SupervisedEndpoint(
            bus,
            endpoint,
            argv,
            env=env,
            heartbeat_interval=self.options.heartbeat_interval,
            heartbeat_timeout=self.options.heartbeat_timeout,
            missed_heartbeats=self.options.missed_heartbeats,
        )
        self._lock = asyncio.Lock()
        self._started = False
        self._started_bus = False

    def __repr__(self) -> str:
        return f"<RemoteConductor {self.supervisor!r}>"

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start the child (once); TransportError if it cannot be started.

        Starts the bus too if nobody has (a command on a host that was not started).
        """
        async with self._lock:
            if not self._started:
                if not self.bus.running:
                    await self.bus.start()
                    self._started_bus = True
                await self.supervisor.start()
                self._started = True

    async def close(self) -> None:
        """Stop the child (requests pending on it fail), and the bus if :meth:`start` started it."""
        async with self._lock:
            self._started = False
            await self.supervisor.stop()
            if self._started_bus:
                self._started_bus = False
                await self.bus.stop()

    def health(self) -> HealthStatus:
        return self.supervisor.health()

    # -- the port -------------------------------------------------------------------

    async def orchestrate(self, request: OrchestrationRequest) -> OrchestrationResult:
        """Run (or resume) a workflow in the conductor process and wait for the end.

        Raises ConductorCrashedError, naming the run, if the process dies meanwhile
        (after ``auto_resume`` automatic resumes, if allowed); the errors of the
        embedded conductor (invalid workflow...) otherwise.
        """
        params = request_params(request)  # reads a file here, so a path is the caller's path
        run_id = await self._submit(params, request.resume)
        resumes = 0
        while True:
            spawned = self.supervisor.restarts
            try:
                return await self._wait(run_id)
            except TransportError as error:
                crashed = self._crashed(run_id, error)
                if resumes >= self.options.auto_resume:
                    raise crashed from None
                resumes += 1
                log.warning("%s Resuming it (%d of %d).", crashed, resumes, self.options.auto_resume)
                await self._replaced(spawned)
                run_id = await self._submit({"workflow": None, "inputs": {}, "resume": run_id}, run_id)

    async def get_status(self) -> ConductorStatus:
        """The child's status; ``stopped`` with the reason while it is down or restarting."""
        supervisor = self.supervisor
        if supervisor.state != "running":
            reason = supervisor.last_failure or f"the conductor process is {supervisor.state}"
            return ConductorStatus(state="stopped", mode="process", restarts=supervisor.restarts, reason=reason)
        try:
            document = await self._call(STATUS, {}, _REQUEST_TIMEOUT)
        except TransportError as error:
            return ConductorStatus(state="stopped", mode="process", restarts=supervisor.restarts, reason=str(error))
        status = msgspec.convert(document, ConductorStatus)
        return msgspec.structs.replace(status, mode="process", restarts=supervisor.restarts)

    async def submit(self, request: OrchestrationRequest, sink: RunSink | None = None) -> ExecutionId:
        """Start the run in the conductor process; ``sink`` gets nothing (the events stay in that process)."""
        return await self._submit(request_params(request), request.resume)

    async def result(self, execution_id: ExecutionId, timeout: float | None = None) -> OrchestrationResult:
        """Wait for a run of the conductor process; ConductorCrashedError if the process dies meanwhile."""
        await self._ready()
        try:
            if timeout is None:
                return await self._wait(execution_id)
            answer = await self._call(WAIT, {"execution_id": execution_id, "timeout": timeout}, timeout + _WAIT_MARGIN)
        except TransportError as error:
            raise self._crashed(execution_id, error) from None
        if answer is None:
            raise TimeoutError(f"Run {execution_id} has not ended within {timeout:g} s; it goes on.")
        return msgspec.convert(answer, OrchestrationResult)

    async def cancel(self, execution_id: str) -> None:
        """Cancel a run through the conductor process."""
        await self._ready()
        await self._call(CANCEL, {"execution_id": execution_id}, _REQUEST_TIMEOUT)

    # -- internals ------------------------------------------------------------------

    async def _submit(self, params: dict[str, Any], resuming: str | None) -> ExecutionId:
        await self._ready()
        try:
            answer = await self._call(START, params, _REQUEST_TIMEOUT)
        except ConductorCrashedError:
            raise
        except TransportError as error:
            if self.supervisor.state == "running":
                raise
            raise self._crashed(resuming, error) from None
        return ExecutionId(answer["execution_id"])

    async def _wait(self, run_id: str) -> OrchestrationResult:
        poll = self.options.poll
        while True:
            answer = await self._call(WAIT, {"execution_id": run_id, "timeout": poll}, poll + _WAIT_MARGIN)
            if answer is not None:
                return msgspec.convert(answer, OrchestrationResult)

    async def _replaced(self, spawned: int) -> None:
        """Wait (up to ``restart_wait``) until the supervisor has a new process running, or has given up.

        The lost connection is often seen here before the supervisor notices the death: until then
        it still says ``running``, and a resume sent at once would go to the dead process.
        """
        supervisor = self.supervisor
        deadline = time.monotonic() + self.options.restart_wait
        while time.monotonic() < deadline:
            if supervisor.state in ("failed", "stopped") or (
                supervisor.restarts > spawned and supervisor.state == "running"
            ):
                return
            await asyncio.sleep(0.02)

    async def _ready(self) -> None:
        """Start the child if needed, and wait (up to ``restart_wait``) while it is being restarted."""
        await self.start()
        deadline = time.monotonic() + self.options.restart_wait
        while self.supervisor.state in ("starting", "restarting"):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        state = self.supervisor.state
        if state != "running":
            why = f" after {self.supervisor.last_failure}" if self.supervisor.last_failure else ""
            raise TransportError(
                f"The conductor process is {state}{why}; see `symphony doctor`, fix its cause, and restart the host."
            )

    async def _call(self, method: str, params: dict[str, Any], timeout: float) -> Any:
        envelope = MessageEnvelope.create(
            RequestPayload(method=method, params=params), sender=f"{self.endpoint}-client", recipient=self.endpoint
        )
        reply = await self.bus.request(envelope, timeout)
        payload = reply.payload
        if isinstance(payload, ErrorPayload):  # the builtin bus raises it; the port lets a bus return it
            raise payload.to_exception()
        if not isinstance(payload, ResponsePayload):
            raise TransportError(f"The conductor answered {method!r} with a {type(payload).__name__}.")
        return payload.result

    def _crashed(self, run_id: str | None, error: TransportError) -> ConductorCrashedError:
        reason = self.supervisor.last_failure or str(error)
        if run_id is None:
            return ConductorCrashedError(
                f"The conductor process crashed before it answered with a run id: {reason}."
                " Try again; `symphony runs list` shows the run if it had started.",
                reason=reason,
            )
        return ConductorCrashedError(
            f"The conductor process crashed while running run {run_id}: {reason}."
            f" Its finished nodes are checkpointed; resume it with `symphony runs resume {run_id}`"
            f" (or orchestrate with resume={run_id!r}).",
            execution_id=run_id,
            reason=reason,
        )
