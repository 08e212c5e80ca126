"""BusServer: the envelopes of accepted socket connections, delivered to a message bus.

- a request to endpoint ``bus`` (:data:`SERVER`) is answered by the server
  itself: ``ping`` (with the load of the other connections), ``subscribe``
  (``{"pattern": "a.>"}``; matching events are then streamed back on that
  connection) and ``unsubscribe``;
- any other request is routed with ``message_bus.request`` and answered
  (an ``error`` envelope on failure), under an id the server draws: a
  client's own ids never key the bus's pending requests, so clients cannot
  collide with, or answer in place of, each other's requests;
- an event is routed with ``message_bus.send``;
- every envelope's ``sender`` is stamped ``NAME@CONNECTION`` (:meth:`BusServer.stamp`): the
  client's own NAME, and the server's name for the connection, so no client can speak as a
  bus endpoint (whose answers complete requests) or as another client.

A client is held to bounded memory whatever it does (docs/wire-format.md,
"Backpressure"): at most ``max_in_flight`` of its requests, of at most
``max_in_flight_bytes`` in all (one request always), are handled at once,
and the next is not read until one is answered, so a client that sends
without reading fills its own socket, not our memory; answers wait for room
in the connection's output (``TransportConfig.output_limit``) and are never
dropped, events find the output full and are dropped; the listener cuts a
client that drains nothing of a full output for ``stall_timeout``.  All a
connection holds (tasks, subscriptions, buffers) is released when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from typing import Any, Final

import msgspec

from symphony.hookspecs import (
    EndpointId,
    ErrorPayload,
    MessageEnvelope,
    MessageId,
    RequestPayload,
    ResponsePayload,
    SerializationError,
    SymphonyError,
    TransportError,
    new_id,
)
from symphony.hookspecs.ports import MessageBus, Subscription

from ..transports import StreamConnection, StreamListener
from .router import MAX_TOPIC_LENGTH

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_IN_FLIGHT_BYTES",
    "MAX_CLIENT_NAME",
    "MAX_SUBSCRIPTIONS",
    "SERVER",
    "BusServer",
]

log = logging.getLogger("symphony.ipc.bus.server")

#: The endpoint a serving process answers itself (ping, subscribe, unsubscribe).
SERVER: Final = EndpointId("bus")
#: Requests of one connection handled at once; the connection is not read while this many run.
DEFAULT_MAX_IN_FLIGHT: Final = 64
#: Encoded bytes of the requests of one connection handled at once (a larger single request still runs alone).
DEFAULT_MAX_IN_FLIGHT_BYTES: Final = 16 * 1024 * 1024
#: Patterns one connection may be subscribed to at once.
MAX_SUBSCRIPTIONS: Final = 128
#: Characters of a client's own name kept in the senders stamped on its envelopes.
MAX_CLIENT_NAME: Final = 64


class _InFlight:
    """The requests of one connection being handled: at most ``count`` of them, of at most ``size`` bytes."""

    __slots__ = ("_changed", "bytes", "count", "requests", "size")

    def __init__(self, count: int, size: int) -> None:
        self.count, self.size = count, size
        self.requests = self.bytes = 0
        self._changed = asyncio.Event()

    def fits(self, size: int) -> bool:
        """Whether a request of ``size`` bytes may start now (always, when none runs)."""
        return not self.requests or (self.requests < self.count and self.bytes + size <= self.size)

    async def room(self, size: int) -> None:
        """Wait until a request of ``size`` bytes fits."""
        while not self.fits(size):
            self._changed.clear()
            await self._changed.wait()

    def take(self, size: int) -> None:
        self.requests += 1
        self.bytes += size

    def done(self, size: int) -> None:
        self.requests -= 1
        self.bytes -= size
        self._changed.set()


class _Session:
    """One connection's state; nothing of it outlives the connection."""

    __slots__ = ("connection", "dropped_events", "handlers", "identity", "in_flight", "subscriptions")

    def __init__(self, connection: StreamConnection, in_flight: _InFlight, identity: str) -> None:
        self.connection = connection
        #: The server's name for this connection: what every sender it stamps ends with.
        self.identity = identity
        self.subscriptions: dict[str, Subscription] = {}
        self.handlers: set[asyncio.Task[None]] = set()
        self.in_flight = in_flight
        self.dropped_events = 0

    async def stream(self, event: MessageEnvelope) -> None:
        """A subscription's handler: drop the event when the client is not keeping up, never wait."""
        with contextlib.suppress(TransportError):
            if not self.connection.offer_envelope(event):
                self.dropped_events += 1


class BusServer:
    """Delivers the envelopes of accepted connections to ``bus``; see the module docstring."""

    def __init__(
        self,
        bus: MessageBus,
        *,
        request_timeout: float = 30.0,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        max_in_flight_bytes: int = DEFAULT_MAX_IN_FLIGHT_BYTES,
    ) -> None:
        self.bus = bus
        self.request_timeout = request_timeout
        self.max_in_flight = max_in_flight
        self.max_in_flight_bytes = max_in_flight_bytes
        self.started = time.time()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sessions: set[_Session] = set()
        self._listeners: list[StreamListener] = []
        self._numbers = itertools.count(1)

    def spawn(self, coroutine: Any) -> None:
        """Run ``coroutine`` until it ends or the server closes."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def accept_from(self, listener: StreamListener) -> None:
        self._listeners.append(listener)
        while True:
            connection = await listener.accept()
            self.spawn(self.serve_connection(connection))

    def load(self, excluding: StreamConnection | None = None) -> dict[str, Any]:
        """What the connections (but ``excluding``) hold now, and what the listeners refused so far."""
        sessions = [s for s in self._sessions if s.connection is not excluding]
        refused: dict[str, int] = {}
        sockets = sum(listener.connections for listener in self._listeners)
        for listener in self._listeners:
            for code, count in listener.refusals.by_reason.items():
                refused[code] = refused.get(code, 0) + count
        return {
            "connections": len(sessions),
            "requests": sum(len(s.handlers) for s in sessions),
            "subscriptions": sum(len(s.subscriptions) for s in sessions),
            "output_bytes": sum(s.connection.output_size for s in sessions),
            "dropped_events": sum(s.dropped_events for s in sessions),
            "handshaking": max(0, sockets - len(self._sessions)),
            "refused": refused,
        }

    async def serve_connection(self, connection: StreamConnection) -> None:
        identity = f"{connection.peer.replace(' ', '-')}#{next(self._numbers)}"
        session = _Session(connection, _InFlight(self.max_in_flight, self.max_in_flight_bytes), identity)
        self._sessions.add(session)
        try:
            await self._read(session)
        except TransportError:
            return
        finally:
            self._sessions.discard(session)
            for subscription in session.subscriptions.values():
                subscription.cancel()
            session.subscriptions.clear()
            for task in session.handlers:
                task.cancel()
            await asyncio.gather(*session.handlers, return_exceptions=True)
            await connection.close()

    async def _read(self, session: _Session) -> None:
        connection = session.connection
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = await connection.receive()
                envelope = connection.decode_envelope(frame)
            except SerializationError as error:
                await connection.send_envelope(
                    MessageEnvelope.create(ErrorPayload.from_exception(error), sender=SERVER, recipient="unknown")
                )
                if connection.broken:
                    return
                continue
            envelope = self.stamp(envelope, session.identity)
            if isinstance(envelope.payload, RequestPayload):
                if not session.in_flight.fits(len(frame)):
                    await self._room(session, len(frame))  # not reading meanwhile is the backpressure
                session.in_flight.take(len(frame))
                task = loop.create_task(self._answer(session, envelope, len(frame)))
                session.handlers.add(task)
                task.add_done_callback(session.handlers.discard)
                continue
            try:
                await self.bus.send(envelope)
            except SymphonyError as error:
                log.info("could not route a %s from %s: %s", envelope.header.message_type, connection.peer, error)

    @staticmethod
    def stamp(envelope: MessageEnvelope, identity: str) -> MessageEnvelope:
        """``envelope`` with its sender ``NAME@identity``: NAME is the client's (up to any ``@``, bounded)."""
        name = envelope.header.sender.partition("@")[0][:MAX_CLIENT_NAME]
        header = msgspec.structs.replace(envelope.header, sender=EndpointId(f"{name}@{identity}"))
        return msgspec.structs.replace(envelope, header=header)

    @staticmethod
    async def _room(session: _Session, size: int) -> None:
        """Wait for room for a request; TransportError if the client leaves meanwhile (then nothing waits)."""
        room = asyncio.ensure_future(session.in_flight.room(size))
        try:
            await asyncio.wait((room, session.connection.ended), return_when=asyncio.FIRST_COMPLETED)
        finally:
            room.cancel()
        if not room.done() or room.cancelled():
            raise TransportError(f"{session.connection.peer} left with requests in flight")

    async def _answer(self, session: _Session, envelope: MessageEnvelope, size: int) -> None:
        header = envelope.header
        payload = envelope.payload
        assert isinstance(payload, RequestPayload)
        try:
            try:
                if header.recipient == SERVER:
                    reply = MessageEnvelope.create(
                        ResponsePayload(result=self._builtin(session, payload)),
                        sender=SERVER,
                        recipient=header.sender,
                        correlation_id=header.message_id,
                    )
                else:
                    reply = await self._route(envelope)
            except Exception as error:  # every failure goes back to the client as an error envelope
                reply = MessageEnvelope.create(
                    ErrorPayload.from_exception(error),
                    sender=header.recipient,
                    recipient=header.sender,
                    correlation_id=header.message_id,
                )
            with contextlib.suppress(TransportError):
                await session.connection.send_envelope(reply)
        finally:
            session.in_flight.done(size)

    async def _route(self, envelope: MessageEnvelope) -> MessageEnvelope:
        """Ask the bus under a fresh id; the answer goes back correlated to the client's id."""
        replace = msgspec.structs.replace
        header = envelope.header
        routed = replace(envelope, header=replace(header, message_id=MessageId(new_id())))
        reply = await self.bus.request(routed, self.request_timeout)
        return replace(reply, header=replace(reply.header, correlation_id=header.message_id))

    def _builtin(self, session: _Session, payload: RequestPayload) -> Any:
        method, params = payload.method, payload.params
        if method == "ping":
            return {
                "pong": True,
                "endpoints": self.bus.endpoints(),
                "uptime": round(time.time() - self.started, 3),
                "others": self.load(excluding=session.connection),
            }
        if method in ("subscribe", "unsubscribe"):
            return self._subscription(session, method, params.get("pattern"))
        raise TransportError(f"endpoint {SERVER!r} has no method {method!r} (it knows ping, subscribe, unsubscribe)")

    def _subscription(self, session: _Session, method: str, pattern: Any) -> dict[str, str]:
        if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_TOPIC_LENGTH:
            raise SerializationError(
                f"{method} needs a string parameter 'pattern' of 1 to {MAX_TOPIC_LENGTH} characters"
            )
        subscriptions = session.subscriptions
        if method == "unsubscribe":
            subscription = subscriptions.pop(pattern, None)
            if subscription is not None:
                subscription.cancel()
            return {"unsubscribed": pattern}
        if pattern not in subscriptions:
            if len(subscriptions) >= MAX_SUBSCRIPTIONS:
                raise SerializationError(
                    f"this connection already has {MAX_SUBSCRIPTIONS} subscriptions, the most one may hold; "
                    "unsubscribe from one, or subscribe to a wider pattern ('a.>')"
                )
            subscriptions[pattern] = self.bus.subscribe(pattern, session.stream)
        return {"subscribed": pattern}

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
