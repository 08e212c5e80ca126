"""Health monitor: endpoints served by child processes, watched by heartbeats and restarted with backoff.

A :class:`SupervisedEndpoint` registers an endpoint on a bus (any
``message_bus`` provider: it uses only the MessageBus port) and serves it from
a child process over the stdio transport (the child runs
:func:`symphony.builtin_plugins.ipc.endpoint.serve_endpoint`); it pairs each
request with the child's answer itself.  The child is
considered gone when its pipe closes (it exited or was killed) or when
``missed_heartbeats`` heartbeats in a row get no answer within
``heartbeat_timeout`` (it hangs; it is then killed).  Either way:

1. the requests pending on the endpoint fail at once with a TransportError that
   says what happened (never a silent timeout);
2. the child is started again after the ``restart`` policy's backoff; requests
   arriving meanwhile fail fast with "restarting";
3. after ``restart.max_attempts`` restarts without ``stable_after`` seconds of
   healthy running in between, the endpoint is marked ``failed`` (a crash
   loop) and left down; its health check says so.

Each transition is published on the bus as ``bus.endpoint.<state>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

from symphony.hookspecs import (
    EndpointId,
    ErrorPayload,
    HealthStatus,
    MessageEnvelope,
    MessageId,
    RequestPayload,
    ResponsePayload,
    RetryPolicy,
    SerializationError,
    TransportError,
    describe_exit,
    dying_with_parent,
)
from symphony.hookspecs.ports import MessageBus

from ..endpoint import PING
from ..transports.stdio import ProcessConnection, StdioTransport

if TYPE_CHECKING:  # tenacity is imported when a child first needs watching: `doctor` stays quick
    from tenacity import RetryCallState

__all__ = ["DEFAULT_RESTART", "EndpointState", "SupervisedEndpoint"]

log = logging.getLogger("symphony.ipc.supervisor")

EndpointState = Literal["stopped", "starting", "running", "restarting", "failed"]

#: Up to 5 restarts, waiting 0.1, 0.2, 0.4, 0.8, 1.6 s.
DEFAULT_RESTART: Final = RetryPolicy(max_attempts=5, backoff_initial=0.1, backoff_multiplier=2.0, backoff_max=10.0)


class _Down(Exception):
    """The child is gone (or could not be started); ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SupervisedEndpoint:
    """One endpoint served by a supervised child process; see the module docstring.

    :param argv: the child's command line (no shell).
    :param heartbeat_interval: seconds between heartbeats.
    :param heartbeat_timeout: seconds a heartbeat may take to be answered.
    :param missed_heartbeats: unanswered heartbeats in a row that mean "hung".
    :param restart: restarts allowed in a row and the backoff between them.
    :param stable_after: seconds of running after which the restart count starts over.
    """

    def __init__(
        self,
        bus: MessageBus,
        endpoint_id: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        heartbeat_interval: float = 1.0,
        heartbeat_timeout: float = 1.0,
        missed_heartbeats: int = 2,
        restart: RetryPolicy = DEFAULT_RESTART,
        stable_after: float = 30.0,
        transport: StdioTransport | None = None,
    ) -> None:
        if heartbeat_interval <= 0 or heartbeat_timeout <= 0 or missed_heartbeats < 1:
            raise ValueError("heartbeat_interval and heartbeat_timeout must be > 0 and missed_heartbeats >= 1")
        self.bus = bus
        self.endpoint_id = EndpointId(endpoint_id)
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.missed_heartbeats = missed_heartbeats
        self.restart = restart
        self.stable_after = stable_after
        self.transport = transport or StdioTransport()
        self.state: EndpointState = "stopped"
        #: Times the child was started again after it died or hung.
        self.restarts = 0
        #: What happened to the last child, e.g. "its process was killed by SIGKILL".
        self.last_failure: str | None = None
        self._connection: ProcessConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._pings: dict[MessageId, asyncio.Future[None]] = {}
        #: Requests sent to the child, by message id: its answer, and the method (for the error if it dies).
        self._pending: dict[MessageId, tuple[asyncio.Future[MessageEnvelope], str]] = {}

    def __repr__(self) -> str:
        return f"<SupervisedEndpoint {self.endpoint_id} {self.state} restarts={self.restarts} pid={self.pid}>"

    @property
    def pid(self) -> int | None:
        return self._connection.process.pid if self._connection is not None else None

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Register the endpoint and start the child; TransportError if its first start fails."""
        if self._task is not None:
            return
        self.bus.register_endpoint(self.endpoint_id, self._handle)
        await self._set_state("starting")
        try:
            connection = await self.transport.spawn(dying_with_parent(self.argv), self.env)
        except BaseException:
            self.bus.unregister_endpoint(self.endpoint_id)
            await self._set_state("stopped")
            raise
        await self._running(connection)
        self._task = asyncio.get_running_loop().create_task(self._supervise(connection))

    async def stop(self) -> None:
        """Stop supervising, end the child, and unregister (pending requests fail)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
        self._fail_pending("the endpoint was stopped")
        if self.endpoint_id in self.bus.endpoints():
            self.bus.unregister_endpoint(self.endpoint_id)
        await self._set_state("stopped")

    async def __aenter__(self) -> SupervisedEndpoint:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def health(self) -> HealthStatus:
        details: dict[str, Any] = {"state": self.state, "restarts": self.restarts, "pid": self.pid}
        if self.state == "running":
            return HealthStatus.ok(f"pid {self.pid}, {self.restarts} restart(s)", **details)
        if self.state == "failed":
            return HealthStatus.failed(
                f"endpoint {self.endpoint_id!r} gave up after {self.restarts} restart(s): {self.last_failure}",
                fix="Fix the endpoint's program (see its stderr), then restart the host.",
            )
        return HealthStatus(
            status="degraded", message=f"endpoint {self.endpoint_id!r} is {self.state}", details=details
        )

    # -- the bus side ---------------------------------------------------------------

    async def _handle(self, envelope: MessageEnvelope) -> object:
        """Forward ``envelope`` to the child; for a request, wait for the child's answer and return its result."""
        connection = self._connection
        if connection is None or self.state != "running":
            why = f" after {self.last_failure}" if self.last_failure else ""
            raise TransportError(f"endpoint {self.endpoint_id!r} is {self.state}{why}; try again shortly")
        payload = envelope.payload
        if not isinstance(payload, RequestPayload):
            await connection.send_envelope(envelope)
            return None
        message_id = envelope.header.message_id
        answer: asyncio.Future[MessageEnvelope] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = (answer, payload.method)
        try:
            await connection.send_envelope(envelope)
            reply = await answer
        finally:
            self._pending.pop(message_id, None)
        if isinstance(reply.payload, ErrorPayload):
            raise reply.payload.to_exception()
        if isinstance(reply.payload, ResponsePayload):
            return reply.payload.result
        raise TransportError(
            f"endpoint {self.endpoint_id!r} answered {payload.method!r} with a {reply.header.message_type}"
        )

    def _fail_pending(self, reason: str) -> int:
        """Fail the requests waiting for the child with TransportError(``reason``); returns how many."""
        pending = list(self._pending.values())
        for answer, method in pending:
            if not answer.done():
                answer.set_exception(
                    TransportError(f"Request {method!r} to endpoint {self.endpoint_id!r} failed: {reason}.")
                )
        return len(pending)

    # -- supervision ----------------------------------------------------------------

    async def _supervise(self, connection: ProcessConnection) -> None:
        """Watch the child, restarting it with the ``restart`` policy's backoff until it crash-loops.

        Each tenacity attempt is one child's life; a child that ran
        ``stable_after`` seconds starts the count (and the backoff) over.
        """
        from tenacity import retry_if_exception_type

        from ..._backoff import retrying

        current: ProcessConnection | None = connection
        restarts = retrying(
            self.restart,
            retry=retry_if_exception_type(_Down),
            attempts=self.restart.max_attempts + 1,
            before_sleep=self._restarting,
        )
        try:
            async for attempt in restarts:
                with attempt:
                    if current is None:
                        current = await self._respawn()
                    started = time.monotonic()
                    failure = await self._watch(current)
                    current = self._connection = None
                    self.last_failure = failure
                    failed = self._fail_pending(f"{failure}; it is being restarted")
                    log.warning("endpoint %r: %s (%d pending request(s) failed)", self.endpoint_id, failure, failed)
                    if time.monotonic() - started >= self.stable_after:
                        attempt.retry_state.attempt_number = 1
                    raise _Down(failure)
        except _Down:
            await self._set_state("failed")
            log.error(
                "endpoint %r: giving up after %d restart(s) in a row", self.endpoint_id, self.restart.max_attempts
            )

    async def _restarting(self, state: RetryCallState) -> None:
        await self._set_state("restarting")

    async def _respawn(self) -> ProcessConnection:
        self.restarts += 1
        try:
            connection = await self.transport.spawn(dying_with_parent(self.argv), self.env)
        except TransportError as error:
            self.last_failure = f"its process could not be started: {error}"
            raise _Down(self.last_failure) from None
        await self._running(connection)
        return connection

    async def _running(self, connection: ProcessConnection) -> None:
        self._connection = connection
        await self._set_state("running")

    async def _watch(self, connection: ProcessConnection) -> str:
        """Serve ``connection`` until its child is gone; returns what happened to it."""
        reader = asyncio.get_running_loop().create_task(self._read(connection))
        beats = asyncio.get_running_loop().create_task(self._heartbeat(connection))
        try:
            done, _ = await asyncio.wait({reader, beats}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, beats):
                task.cancel()
            await asyncio.gather(reader, beats, return_exceptions=True)
            for future in self._pings.values():
                future.cancel()
            self._pings.clear()
        hung = beats in done and not beats.cancelled() and beats.exception() is None
        if hung:
            with contextlib.suppress(ProcessLookupError):
                connection.process.kill()
        await connection.close()
        code = connection.process.returncode
        if hung:
            return (
                f"its process (pid {connection.process.pid}) stopped answering heartbeats"
                f" ({self.missed_heartbeats} missed, {self.heartbeat_timeout:g} s each) and was killed"
            )
        return f"its process (pid {connection.process.pid}) {_describe_exit(code)}"

    async def _read(self, connection: ProcessConnection) -> None:
        """Forward the child's envelopes to the bus until its pipe closes."""
        while True:
            try:
                envelope = await connection.receive_envelope()
            except SerializationError as error:
                if connection.broken:
                    return
                log.warning("endpoint %r sent a malformed envelope: %s", self.endpoint_id, error)
                continue
            except TransportError:
                return
            correlation = envelope.header.correlation_id
            if correlation is not None and (ping := self._pings.pop(correlation, None)) is not None:
                if not ping.done():
                    ping.set_result(None)
                continue
            if correlation is not None and (pending := self._pending.get(correlation)) is not None:
                if not pending[0].done():
                    pending[0].set_result(envelope)
                continue
            try:
                await self.bus.send(envelope)
            except TransportError as error:
                log.debug("endpoint %r: undeliverable %s: %s", self.endpoint_id, envelope.header.message_type, error)

    async def _heartbeat(self, connection: ProcessConnection) -> None:
        """Returns when the child missed ``missed_heartbeats`` heartbeats in a row."""
        missed = 0
        loop = asyncio.get_running_loop()
        while missed < self.missed_heartbeats:
            await asyncio.sleep(self.heartbeat_interval)
            ping = MessageEnvelope.create(
                RequestPayload(method=PING, params={}),
                sender=f"{self.endpoint_id}-supervisor",
                recipient=self.endpoint_id,
            )
            answered: asyncio.Future[None] = loop.create_future()
            self._pings[ping.header.message_id] = answered
            try:
                await connection.send_envelope(ping)
                await asyncio.wait_for(answered, self.heartbeat_timeout)
            except TimeoutError:
                missed += 1
                log.info("endpoint %r missed heartbeat %d/%d", self.endpoint_id, missed, self.missed_heartbeats)
            except TransportError:
                await asyncio.Future()  # the pipe is closed: the reader reports it
            else:
                missed = 0
            finally:
                self._pings.pop(ping.header.message_id, None)

    async def _set_state(self, state: EndpointState) -> None:
        self.state = state
        if self.bus.running:
            data: dict[str, Any] = {"endpoint": self.endpoint_id, "restarts": self.restarts, "pid": self.pid}
            if state in ("restarting", "failed") and self.last_failure:
                data["reason"] = self.last_failure
            try:
                await self.bus.publish(f"bus.endpoint.{state}", data)
            except TransportError as error:  # the bus stopped meanwhile: nobody is listening
                log.debug("endpoint %r: state %s not published: %s", self.endpoint_id, state, error)


def _describe_exit(code: int | None) -> str:
    return "closed its pipe" if code is None else describe_exit(code)
