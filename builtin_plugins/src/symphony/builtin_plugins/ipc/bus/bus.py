"""The in-process MessageBus: router, endpoint registry, correlation tracker and pub/sub.

Routing by message type (``send``):

- ``request``: to the handler registered for ``header.recipient``;
- ``response``/``error`` with a ``correlation_id``: completes the pending request
  it answers, if it comes from the endpoint the request was sent to (from any
  other sender it is dropped and counted as ``wrong_sender``, and the request
  keeps waiting for its answer); if that request already timed out or was
  cancelled, the response is late: dropped and counted; otherwise it goes to
  ``header.recipient``;
- ``event``: to ``header.recipient`` if it names an endpoint; with recipient
  ``"*"`` (:data:`BROADCAST`, what :meth:`MessageBus.publish` uses) to every
  subscription whose pattern matches the event's topic.

Sending to an endpoint that is not registered raises TransportError at once,
naming it and listing the registered ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

from symphony.hookspecs import (
    EndpointId,
    ErrorPayload,
    EventPayload,
    IpcError,
    MessageEnvelope,
    RequestPayload,
    ResponsePayload,
    TransportError,
)
from symphony.hookspecs.ports import Handler

from .correlation import CorrelationTracker, Pending, RequestTimeoutError
from .metrics import DROP_LATE_RESPONSE, DROP_NO_SUBSCRIBERS, BusMetrics, MetricsRecorder
from .pubsub import DEFAULT_QUEUE_SIZE, PubSub, Subscriber
from .registry import EndpointRegistry

__all__ = ["BROADCAST", "DEFERRED", "InProcessBus"]

logger = logging.getLogger(__name__)

#: Recipient of events meant for every matching subscription.
BROADCAST: Final = EndpointId("*")


class _Deferred:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFERRED"


#: A request handler returns this when the response will arrive later through
#: ``bus.send`` (a transport forwarding the request to another process, say).
DEFERRED: Final = _Deferred()
#: Drop reason of a response or error from another sender than the endpoint its request went to.
DROP_WRONG_SENDER: Final = "wrong_sender"


class InProcessBus:
    """An asyncio MessageBus within one process; see the module docstring.

    :param queue_size: default bound of each subscription's queue (drop-oldest when full).
    :param cache_size: topics whose matching subscriptions are cached.
    :param name: the sender of events this bus publishes and of replies it builds.
    """

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE, cache_size: int = 4096, name: str = "bus") -> None:
        self.name = EndpointId(name)
        self._metrics = MetricsRecorder()
        self._registry = EndpointRegistry()
        self._handlers = self._registry.handlers
        self._tracker = CorrelationTracker()
        self._pubsub = PubSub(self._metrics, queue_size=queue_size, cache_size=cache_size)
        self._serving: set[asyncio.Task[None]] = set()
        self._stopped = False

    def __repr__(self) -> str:
        return (
            f"<InProcessBus endpoints={len(self._registry)} subscriptions={len(self._pubsub)}"
            f" pending={len(self._tracker)}{' stopped' if self._stopped else ''}>"
        )

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start (or restart after ``stop``) the subscriptions' delivery tasks."""
        self._stopped = False
        self._pubsub.start()

    async def stop(self) -> None:
        """Cancel delivery tasks and running request handlers; fail pending requests."""
        self._stopped = True
        self._tracker.fail_all(
            lambda p: TransportError(
                f"The message bus stopped while request {p.method!r} to endpoint {p.recipient!r} was pending."
            )
        )
        serving = list(self._serving)
        for task in serving:
            task.cancel()
        await asyncio.gather(*serving, return_exceptions=True)
        await self._pubsub.stop()

    @property
    def running(self) -> bool:
        return not self._stopped

    # -- endpoints ------------------------------------------------------------------

    def register_endpoint(self, endpoint_id: EndpointId, handler: Handler) -> None:
        """Register ``handler`` for ``endpoint_id``; TransportError if the id is taken."""
        self._registry.register(endpoint_id, handler)

    def unregister_endpoint(self, endpoint_id: EndpointId) -> None:
        """Remove an endpoint; its pending requests fail at once with TransportError."""
        if not self._registry.unregister(endpoint_id):
            return
        self._tracker.fail_for(
            endpoint_id,
            lambda p: TransportError(
                f"Endpoint {p.recipient!r} was unregistered while request {p.method!r} to it was pending."
            ),
        )

    def endpoints(self) -> list[EndpointId]:
        return sorted(self._handlers)

    # -- routing --------------------------------------------------------------------

    def _check_running(self) -> None:
        if self._stopped:
            raise TransportError("The message bus is stopped; call start() before sending.")

    def _unknown(self, endpoint_id: EndpointId) -> TransportError:
        self._metrics.unknown_endpoints += 1
        return self._registry.unknown(endpoint_id)

    async def send(self, envelope: MessageEnvelope) -> None:
        """Route ``envelope`` by its message type (see the module docstring)."""
        header = envelope.header
        kind = header.message_type
        if self._stopped:
            self._check_running()
        if kind in ("response", "error"):
            if header.correlation_id is not None and self._reply(envelope):
                return
        elif kind == "event" and header.recipient == BROADCAST:
            payload = envelope.payload
            if not isinstance(payload, EventPayload):
                raise IpcError(f"An envelope of type 'event' carries a {type(payload).__name__}, not an EventPayload.")
            self._fan_out(payload.topic, envelope)
            return
        handler = self._handlers.get(header.recipient)
        if handler is None:
            raise self._unknown(header.recipient)
        metrics = self._metrics
        metrics.routed += 1
        try:
            await handler(envelope)
        except Exception:
            metrics.failed_handlers += 1
            raise
        metrics.delivered += 1

    def _reply(self, envelope: MessageEnvelope) -> bool:
        """Complete the pending request ``envelope`` answers; True if it was consumed (or dropped)."""
        header = envelope.header
        waiting = self._tracker.pending.get(header.correlation_id) if header.correlation_id is not None else None
        if waiting is not None and waiting.recipient != header.sender:
            self._metrics.drop(DROP_WRONG_SENDER)
            logger.debug(  # counted, not logged loudly: a hostile sender could flood the log
                "Dropped a %s to request %s from %r: the request was sent to %r.",
                header.message_type,
                header.correlation_id,
                header.sender,
                waiting.recipient,
            )
            return True
        entry = self._tracker.resolve(envelope)
        if entry is not None:
            self._metrics.routed += 1
            self._metrics.request_latency.add(time.perf_counter_ns() - entry.started_ns)
            return True
        correlation_id = envelope.header.correlation_id
        if correlation_id is not None and self._tracker.is_expired(correlation_id):
            self._late(envelope)
            return True
        return False

    def _late(self, envelope: MessageEnvelope) -> None:
        self._metrics.late_responses += 1
        self._metrics.drop(DROP_LATE_RESPONSE)
        logger.debug("Dropped a late response to %s from %s.", envelope.header.correlation_id, envelope.header.sender)

    # -- request/response -----------------------------------------------------------

    async def request(self, envelope: MessageEnvelope, timeout: float) -> MessageEnvelope:
        """Send a RequestPayload envelope and await the envelope answering it.

        Raises RequestTimeoutError (an IpcError and a TimeoutError) after
        ``timeout`` seconds, TransportError if the recipient is unknown or goes
        away, and the mapped SymphonyError if the answer is an ErrorPayload.
        Cancelling the awaiting task withdraws the request.
        """
        self._check_running()
        payload = envelope.payload
        if not isinstance(payload, RequestPayload):
            raise IpcError(
                f"request() needs an envelope with a RequestPayload, got {type(payload).__name__};"
                " use send() for other messages."
            )
        header = envelope.header
        handler = self._handlers.get(header.recipient)
        if handler is None:
            raise self._unknown(header.recipient)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[MessageEnvelope] = loop.create_future()
        message_id = header.message_id
        self._tracker.add(message_id, Pending(future, header.recipient, payload.method, time.perf_counter_ns()))
        self._metrics.routed += 1
        task = loop.create_task(self._serve(handler, envelope))
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)
        try:
            async with asyncio.timeout(timeout):
                response = await future
        except TimeoutError:
            if future.done() and not future.cancelled() and future.exception() is not None:
                raise  # pragma: no cover - the future itself failed with a TimeoutError
            raise RequestTimeoutError(
                f"Request {payload.method!r} to endpoint {header.recipient!r} got no response within {timeout:g} s.",
                recipient=header.recipient,
                method=payload.method,
                timeout=timeout,
            ) from None
        finally:
            self._tracker.forget(message_id)  # no-op once answered; remembers a timed-out or cancelled id
        if isinstance(response.payload, ErrorPayload):
            raise response.payload.to_exception()
        return response

    async def _serve(self, handler: Handler, request: MessageEnvelope) -> None:
        header = request.header
        metrics = self._metrics
        reply: MessageEnvelope
        try:
            result: Any = await handler(request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.failed_handlers += 1
            logger.debug("Endpoint %r failed a request: %r", header.recipient, exc)
            reply = MessageEnvelope.create(
                ErrorPayload.from_exception(exc),
                sender=header.recipient,
                recipient=header.sender,
                correlation_id=header.message_id,
            )
        else:
            metrics.delivered += 1
            if result is DEFERRED:
                return
            if isinstance(result, MessageEnvelope):
                reply = result
            else:
                reply = MessageEnvelope.create(
                    ResponsePayload(result=result),
                    sender=header.recipient,
                    recipient=header.sender,
                    correlation_id=header.message_id,
                )
        if not self._reply(reply):
            self._late(reply)  # the request was forgotten long ago

    # -- pub/sub --------------------------------------------------------------------

    def _fan_out(self, topic: str, envelope: MessageEnvelope) -> int:
        self._metrics.routed += 1
        count = self._pubsub.fan_out(topic, envelope)
        if not count:
            self._metrics.drop(DROP_NO_SUBSCRIBERS)
        return count

    async def publish(self, topic: str, data: dict[str, Any], *, sender: str | None = None) -> int:
        """Queue an event for every subscription matching ``topic``; returns how many.

        Never waits for subscribers (see :mod:`.pubsub` for the drop-oldest policy).
        """
        return self.publish_nowait(topic, data, sender=sender)

    def publish_nowait(self, topic: str, data: dict[str, Any], *, sender: str | None = None) -> int:
        """:meth:`publish` for synchronous callers (a hook implementation, say)."""
        self._check_running()
        envelope = MessageEnvelope.create(
            EventPayload(topic=topic, data=data), sender=sender or self.name, recipient=BROADCAST
        )
        return self._fan_out(topic, envelope)

    def subscribe(self, pattern: str, handler: Handler, *, queue_size: int | None = None) -> Subscriber:
        """Deliver events whose topic matches ``pattern`` (``*`` one segment, ``>`` the rest) to ``handler``."""
        return self._pubsub.subscribe(pattern, handler, queue_size)

    # -- metrics --------------------------------------------------------------------

    def metrics(self) -> BusMetrics:
        """A snapshot of the counters and latency statistics."""
        return self._metrics.snapshot(
            pending_requests=len(self._tracker), endpoints=len(self._registry), subscriptions=len(self._pubsub)
        )
