"""A distribution whose profile replaces the builtin message bus with its own.

:class:`MinimalBus` routes requests straight to the registered handler and
events to matching subscribers, nothing more.  Every lifecycle call and
routed request is logged to ``DATA_DIR/own-message-bus.log`` (one JSON line
each), so a test can tell that the host and ``symphony bus serve`` used it.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

from symphony.hookspecs import (
    DistroProfile,
    EndpointId,
    ErrorPayload,
    EventPayload,
    MessageEnvelope,
    ResponsePayload,
    TransportError,
    hookimpl,
)
from symphony.hookspecs.ports import Handler, HostContext

PROFILE = DistroProfile(
    name="own-bus",
    description="Routes messages on the own-message-bus plugin instead of the builtin bus.",
    providers={"message_bus": "own-message-bus"},
)


class _Subscription:
    def __init__(self, bus: MinimalBus, pattern: str, handler: Handler) -> None:
        self.pattern, self.handler, self._bus = pattern, handler, bus

    def cancel(self) -> None:
        self._bus.subscriptions.discard(self)


class MinimalBus:
    """Just enough of a MessageBus, logging what it is asked."""

    def __init__(self, log: Path) -> None:
        self._log = log
        self._handlers: dict[EndpointId, Handler] = {}
        self.subscriptions: set[_Subscription] = set()
        self.running = False

    def _record(self, method: str, **details: Any) -> None:
        self._log.parent.mkdir(parents=True, exist_ok=True)
        with self._log.open("a") as log:
            log.write(json.dumps({"method": method, **details}) + "\n")

    async def start(self) -> None:
        self._record("start")
        self.running = True

    async def stop(self) -> None:
        self._record("stop")
        self.running = False

    def register_endpoint(self, endpoint_id: EndpointId, handler: Handler) -> None:
        if endpoint_id in self._handlers:
            raise TransportError(f"Endpoint {endpoint_id!r} is taken on own-message-bus.")
        self._record("register_endpoint", endpoint=endpoint_id)
        self._handlers[endpoint_id] = handler

    def unregister_endpoint(self, endpoint_id: EndpointId) -> None:
        self._handlers.pop(endpoint_id, None)

    def endpoints(self) -> list[EndpointId]:
        return sorted(self._handlers)

    def _handler(self, envelope: MessageEnvelope) -> Handler:
        if not self.running:
            raise TransportError("own-message-bus is stopped.")
        try:
            return self._handlers[envelope.header.recipient]
        except KeyError:
            raise TransportError(f"No endpoint {envelope.header.recipient!r} on own-message-bus.") from None

    async def send(self, envelope: MessageEnvelope) -> None:
        await self._handler(envelope)(envelope)

    async def request(self, envelope: MessageEnvelope, timeout: float) -> MessageEnvelope:
        header = envelope.header
        self._record("request", recipient=header.recipient)
        try:
            payload: Any = ResponsePayload(result=await self._handler(envelope)(envelope))
        except TransportError as error:
            payload = ErrorPayload.from_exception(error)
        return MessageEnvelope.create(
            payload, sender=header.recipient, recipient=header.sender, correlation_id=header.message_id
        )

    async def publish(self, topic: str, data: dict[str, Any]) -> int:
        event = MessageEnvelope.create(EventPayload(topic=topic, data=data), sender="own-message-bus", recipient="*")
        matching = [s for s in list(self.subscriptions) if fnmatch.fnmatchcase(topic, s.pattern.replace(">", "*"))]
        for subscription in matching:
            await subscription.handler(event)
        return len(matching)

    def subscribe(self, pattern: str, handler: Handler) -> _Subscription:
        subscription = _Subscription(self, pattern, handler)
        self.subscriptions.add(subscription)
        return subscription


@hookimpl
def symphony_provide_message_bus(context: HostContext) -> MinimalBus:
    return MinimalBus(context.data_dir / "own-message-bus.log")
