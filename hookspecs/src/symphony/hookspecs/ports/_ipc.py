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
    """One established, framed, bidirectional link carrying whole messages, so callers never see partial frames.

    Lifetime:
        From ``Transport.connect`` or ``Listener.accept`` until ``close`` or the peer leaves.

    Threads and processes:
        Call from one event loop; one task may send while another receives.

    Errors:
        TransportError when the peer is gone or a frame is too large.

    Since:
        1.0
    """

    async def send(self, frame: bytes) -> None:
        """Send one whole frame; raises TransportError when the peer is gone."""
        ...

    async def receive(self) -> bytes:
        """The next whole frame; raises TransportError when the peer is gone."""
        ...

    async def close(self) -> None:
        """Close the link; safe to call twice."""
        ...


@runtime_checkable
class Listener(Protocol):
    """Accepts connections at ``address`` until closed.

    Lifetime:
        From ``Transport.listen`` until ``close``; accepted connections outlive it.

    Threads and processes:
        Call from one event loop.

    Errors:
        TransportError when it is closed while accepting.

    Since:
        1.0
    """

    #: Where peers connect (e.g. ``unix:/run/x.sock``, ``tcp:127.0.0.1:7000``).
    address: str

    async def accept(self) -> Connection:
        """Wait for the next peer and return its connection; raises TransportError once closed."""
        ...

    async def close(self) -> None:
        """Stop accepting; safe to call twice."""
        ...


@runtime_checkable
class Transport(Protocol):
    """A kind of link (unix, tcp, stdio, shm), so the bus and the sandbox reach peers the same way over any.

    Contributed by ``symphony_transports`` (``TransportSpec.factory``).

    Lifetime:
        Stateless beyond its configuration; connections and listeners it makes are independent.

    Threads and processes:
        Call from one event loop; its connections may cross processes and machines.

    Errors:
        TransportError when an address cannot be reached or bound.

    Since:
        1.0
    """

    async def connect(self, address: str) -> Connection:
        """Connect to ``address``; raises TransportError when it cannot be reached."""
        ...

    async def listen(self, address: str) -> Listener:
        """Bind ``address`` and return a listener; raises TransportError when it cannot."""
        ...


@runtime_checkable
class Subscription(Protocol):
    """A live subscription made by ``MessageBus.subscribe``; ``cancel`` stops delivery.

    Lifetime:
        Delivers until ``cancel`` or the bus stops.

    Threads and processes:
        Belongs to the bus's event loop.

    Errors:
        None: cancelling twice does nothing.

    Since:
        1.0
    """

    #: The dotted topic pattern it matches (``*`` one part, ``>`` the rest).
    pattern: str

    def cancel(self) -> None:
        """Stop delivery to this subscription's handler; safe to call twice."""
        ...


@runtime_checkable
class MessageBus(Protocol):
    """Router, endpoint registry, correlation tracker and pub/sub in one port, so endpoints never meet directly.

    ``bus serve``, the host and the socket server use only these members, so
    a replacement must offer all of them.

    Provided by:
        ``symphony_provide_message_bus``; builtin: plugin ``bus`` (in process).

    Lifetime:
        The host's ``message_bus`` component calls ``start`` when the host
        starts and ``stop`` when it stops; ``symphony bus serve`` does the
        same around serving it on sockets.

    Threads and processes:
        One bus serves one process: call it from that process's event loop
        (it need not be thread-safe); handlers run in the same loop.

    Errors:
        TransportError for an unknown or taken endpoint and a stopped bus;
        TimeoutError when a request gets no answer in time.

    Since:
        1.0
    """

    @property
    def running(self) -> bool:
        """Whether the bus delivers (true between ``start`` and ``stop``)."""
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
