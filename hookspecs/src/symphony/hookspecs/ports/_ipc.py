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
    """Router, endpoint registry, correlation tracker and pub/sub in one port.

    The host's ``message_bus`` component calls :meth:`start` when the host
    starts and :meth:`stop` when it stops; ``symphony bus serve`` does the
    same around serving it on sockets.  ``bus serve``, the host and the
    socket server use only these members, so a replacement must offer all of
    them.  One bus serves one process: call it from that process's event loop
    (it need not be thread-safe); handlers run in the same loop.
    """

    @property
    def running(self) -> bool:
        """Whether the bus delivers (true between :meth:`start` and :meth:`stop`)."""
        ...

    async def start(self) -> None:
        """Begin delivering; starting a running bus does nothing, and a stopped one may start again."""
        ...

    async def stop(self) -> None:
        """Stop delivering; pending requests fail with TransportError.  Safe to call when not running."""
        ...

    def register_endpoint(self, endpoint_id: EndpointId, handler: Handler) -> None:
        """Route envelopes for ``endpoint_id`` to ``handler``; raises TransportError if the id is taken."""
        ...

    def unregister_endpoint(self, endpoint_id: EndpointId) -> None:
        """Stop routing to ``endpoint_id`` (its pending requests fail); unknown ids are ignored."""
        ...

    def endpoints(self) -> list[EndpointId]:
        """The registered endpoint ids, sorted (what a ``ping`` of the socket server lists)."""
        ...

    async def send(self, envelope: MessageEnvelope) -> None:
        """Deliver to ``envelope.header.recipient``; raises TransportError if it is gone."""
        ...

    async def request(self, envelope: MessageEnvelope, timeout: float) -> MessageEnvelope:
        """Send a request and wait for the correlated response or error.

        Raises TransportError for an unknown endpoint or a stopped bus, and
        a TimeoutError when no answer came within ``timeout`` seconds.
        """
        ...

    async def publish(self, topic: str, data: dict[str, Any]) -> int:
        """Publish an event; returns how many subscribers it was delivered to."""
        ...

    def subscribe(self, pattern: str, handler: Handler) -> Subscription:
        """Receive events whose dotted topic matches ``pattern`` (``*`` one part, ``>`` the rest)."""
        ...
