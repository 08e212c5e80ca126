"""Transport and MessageBus: how envelopes move (seed M1.4, M1.5)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from .._envelope import MessageEnvelope
from .._ids import EndpointId

__all__ = ["Connection", "Handler", "Listener", "MessageBus", "Subscription", "Transport"]

#: Receives an envelope; for requests, returns the response envelope's result.
Handler = Callable[[MessageEnvelope], Awaitable[Any]]


@runtime_checkable
class Connection(Protocol):
    """One established, framed, bidirectional link carrying whole messages."""

    async def send(self, frame: bytes) -> None: ...

    async def receive(self) -> bytes:
        """The next whole frame; raises TransportError when the peer is gone."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class Listener(Protocol):
    """Accepts connections at ``address`` until closed."""

    address: str

    async def accept(self) -> Connection: ...

    async def close(self) -> None: ...


@runtime_checkable
class Transport(Protocol):
    """The seed's Transport trait."""

    async def connect(self, address: str) -> Connection: ...

    async def listen(self, address: str) -> Listener: ...


@runtime_checkable
class Subscription(Protocol):
    """A live subscription; ``cancel`` stops delivery."""

    pattern: str

    def cancel(self) -> None: ...


@runtime_checkable
class MessageBus(Protocol):
    """Router, endpoint registry, correlation tracker and pub/sub in one port."""

    def register_endpoint(self, endpoint_id: EndpointId, handler: Handler) -> None: ...

    def unregister_endpoint(self, endpoint_id: EndpointId) -> None: ...

    async def send(self, envelope: MessageEnvelope) -> None:
        """Deliver to ``envelope.header.recipient``; raises TransportError if it is gone."""
        ...

    async def request(self, envelope: MessageEnvelope, timeout: float) -> MessageEnvelope:
        """Send a request and wait for the correlated response or error."""
        ...

    async def publish(self, topic: str, data: dict[str, Any]) -> int:
        """Publish an event; returns how many subscribers it was delivered to."""
        ...

    def subscribe(self, pattern: str, handler: Handler) -> Subscription:
        """Receive events whose dotted topic matches ``pattern`` (``*`` one part, ``>`` the rest)."""
        ...
