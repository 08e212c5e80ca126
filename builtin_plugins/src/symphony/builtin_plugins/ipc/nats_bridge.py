"""A bridge between an in-process bus and a NATS server, so that buses on several hosts work as one.

Each host runs an :class:`InProcessBus` and a :class:`NatsBridge` connected to
the same NATS server.  The same envelope (MessagePack-encoded, the default
codec) travels on NATS subjects scoped by ``subject_prefix`` (see
docs/wire-format.md, "NATS bridge"):

- ``{prefix}.request.{endpoint}``: requests to an endpoint a host *exports*
  (``bridge.export(endpoint)``); the reply (a response or error envelope) goes
  back with NATS request/reply.
- ``{prefix}.event.{topic}``: events.  Local events matching a pattern given to
  ``bridge.forward(pattern)`` are sent there, as are ``bridge.publish_remote``
  events; every event arriving from another host is published on the local bus.

An endpoint exported by another host is made reachable with
``bridge.import_endpoint(endpoint)``: it is registered on the local bus, and a
request to it crosses NATS; a remote failure comes back as the same
SymphonyError category (through ErrorPayload).

The bridge authenticates to the server with a token or a user and password;
a refusal raises :class:`NatsBridgeError` naming the server and its reason.
Across machines it speaks TLS (``tls_ca``, and ``tls_cert``/``tls_key`` when
the server asks for client certificates).  The first connection fails fast
with the reason; once connected, a lost server is reconnected to in the
background (``max_reconnect_attempts`` tries, ``reconnect_time_wait`` apart),
subscriptions are restored, and ``disconnects``/``reconnects`` count it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Final

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription

from symphony.hookspecs import (
    EndpointId,
    ErrorPayload,
    EventPayload,
    IpcError,
    MessageEnvelope,
    MessageId,
    RequestPayload,
    SerializationError,
    TransportError,
)

from .bus import BROADCAST, InProcessBus, RequestTimeoutError, Subscriber
from .codecs import CODECS

__all__ = ["DEFAULT_MAX_CONCURRENT_REQUESTS", "DEFAULT_PREFIX", "NatsBridge", "NatsBridgeError"]

log = logging.getLogger("symphony.ipc.nats")

DEFAULT_PREFIX: Final = "symphony"
#: Requests from other hosts answered at once; past it, a request is answered with a busy error at once.
DEFAULT_MAX_CONCURRENT_REQUESTS: Final = 64
_CODEC: Final = next(c for c in CODECS if c.name == "msgpack")
#: Ids of events received from NATS, remembered so that they are not forwarded back.
_SEEN_LIMIT: Final = 4096
_FORBIDDEN: Final = frozenset(" \t\r\n*>")


class NatsBridgeError(TransportError):
    """The bridge could not connect, authenticate or was misused."""

    category = "ipc.transport"


def _check_token(kind: str, value: str) -> str:
    """A dotted name usable inside a NATS subject (no spaces, no wildcards, no empty segment)."""
    if not value or any(ch in _FORBIDDEN for ch in value) or "" in value.split("."):
        raise NatsBridgeError(
            f"{kind} {value!r} cannot be part of a NATS subject: it must be non-empty dotted segments"
            " without spaces, '*' or '>'"
        )
    return value


class NatsBridge:
    """Connects ``bus`` to a NATS server; see the module docstring.

    :param servers: NATS URL(s), e.g. ``nats://127.0.0.1:4222``.
    :param subject_prefix: the first subject segment(s); deployments sharing a server use different ones.
    :param token: authentication token, or ``user`` and ``password``.
    :param name: this host's name, as the server and other hosts see it.
    :param request_timeout: seconds a request to an imported endpoint waits for its reply.
    :param max_reconnect_attempts: tries per server after a lost connection (-1: forever, 0: never).
    :param reconnect_time_wait: seconds between tries to the same server.
    :param tls_ca: CA bundle to verify the server with (TLS on; the system store if only certs are given).
    :param tls_cert: client certificate (with ``tls_key``) for servers that verify clients.
    :param max_concurrent_requests: requests from other hosts answered at once; past it, a busy error.
    """

    def __init__(
        self,
        bus: InProcessBus,
        servers: str | Sequence[str],
        *,
        subject_prefix: str = DEFAULT_PREFIX,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        name: str = "symphony-bridge",
        request_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_reconnect_attempts: int = 60,
        reconnect_time_wait: float = 1.0,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
    ) -> None:
        if token is not None and (user is not None or password is not None):
            raise NatsBridgeError("give either a token or user and password to the NATS bridge, not both")
        if (tls_cert is None) != (tls_key is None):
            raise NatsBridgeError("give both tls_cert and tls_key (a client certificate and its key), or neither")
        self.bus = bus
        self.servers = [servers] if isinstance(servers, str) else list(servers)
        self.prefix = _check_token("subject prefix", subject_prefix)
        self.name = name
        self.request_timeout = request_timeout
        self.connect_timeout = connect_timeout
        self._token = token
        self._user = user
        self._password = password
        self.max_reconnect_attempts = max_reconnect_attempts
        self.reconnect_time_wait = reconnect_time_wait
        self.max_concurrent_requests = max_concurrent_requests
        #: Requests from other hosts answered with a busy error since start().
        self.refused_busy = 0
        self._tls = _tls_context(tls_ca, tls_cert, tls_key) if (tls_ca or tls_cert) else None
        #: Times the connection to the server was lost, and regained, since start().
        self.disconnects = 0
        self.reconnects = 0
        self._nc: Client | None = None
        #: The server holds every subscription this bridge has sent (see :func:`_confirm`).
        self._confirmed = False
        self._exported: dict[str, NatsSubscription | None] = {}
        self._imported: set[EndpointId] = set()
        self._forwards: dict[str, Subscriber | None] = {}
        self._event_sub: NatsSubscription | None = None
        self._seen: OrderedDict[MessageId, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"<NatsBridge {self.name} prefix={self.prefix!r} {state} exported={sorted(self._exported)}>"

    # -- subjects -------------------------------------------------------------------

    def request_subject(self, endpoint_id: str) -> str:
        return f"{self.prefix}.request.{endpoint_id}"

    def event_subject(self, topic: str) -> str:
        return f"{self.prefix}.event.{topic}"

    @property
    def connected(self) -> bool:
        """Connected, and the server holds this bridge's subscriptions (also after a reconnect)."""
        return self._nc is not None and self._nc.is_connected and self._confirmed

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and authenticate, then subscribe to events and exported endpoints."""
        if self._nc is not None:
            return

        errors: list[Exception] = []

        async def on_error(error: Exception) -> None:
            errors.append(error)
            log.debug("NATS client error (%s): %r", self.name, error)

        async def on_disconnect() -> None:
            self._confirmed = False
            if self._nc is not None:
                self.disconnects += 1
                log.warning("NATS bridge %s lost its server; reconnecting", self.name)

        async def on_reconnect() -> None:
            # nats-py calls this after replaying the subscriptions and a PING/PONG behind them.
            self._confirmed = True
            self.reconnects += 1
            log.info("NATS bridge %s reconnected to %s", self.name, nc.connected_url)

        options: dict[str, Any] = {
            "name": self.name,
            "connect_timeout": self.connect_timeout,
            "allow_reconnect": False,
            "max_reconnect_attempts": 1,
            "reconnect_time_wait": 0.1,
            "no_echo": True,  # our own events must not come back to us
            "error_cb": on_error,
            "disconnected_cb": on_disconnect,
            "reconnected_cb": on_reconnect,
        }
        if self._tls is not None:
            options["tls"] = self._tls
        if self._token is not None:
            options["token"] = self._token
        if self._user is not None:
            options["user"] = self._user
            options["password"] = self._password or ""
        where = ", ".join(self.servers)
        try:
            async with asyncio.timeout(self.connect_timeout * (2 * len(self.servers) + 1)):
                nc = await nats.connect(self.servers, **options)
        except nats.errors.NoServersError:
            last = f" (last error: {errors[-1]})" if errors else ""
            raise NatsBridgeError(f"cannot connect to NATS server {where}: no server reachable{last}") from None
        except nats.errors.Error as error:
            reason = str(error).removeprefix("nats: ").strip("'")
            if "authorization" in reason.lower():
                raise NatsBridgeError(
                    f"NATS server {where} refused the bridge {self.name!r}: {reason} (check the token or credentials)"
                ) from None
            raise NatsBridgeError(f"cannot connect to NATS server {where}: {reason}") from None
        except (OSError, TimeoutError) as error:
            raise NatsBridgeError(f"cannot connect to NATS server {where}: {error or 'timed out'}") from None
        # Reconnecting is enabled only now: nats-py would otherwise retry the first
        # connection too, turning a wrong token into a long wait instead of an error.
        nc.options["allow_reconnect"] = self.max_reconnect_attempts != 0
        nc.options["max_reconnect_attempts"] = self.max_reconnect_attempts
        nc.options["reconnect_time_wait"] = self.reconnect_time_wait
        self._nc = nc
        self._event_sub = await nc.subscribe(f"{self.prefix}.event.>", cb=self._on_event)
        for endpoint_id in self._exported:
            self._exported[endpoint_id] = await nc.subscribe(self.request_subject(endpoint_id), cb=self._on_request)
        for pattern in self._forwards:
            self._forwards[pattern] = self.bus.subscribe(pattern, self._forward_event)
        await _confirm(nc)
        self._confirmed = True

    async def stop(self) -> None:
        """Unsubscribe, remove imported endpoints from the bus and close the connection."""
        for pattern, subscriber in self._forwards.items():
            if subscriber is not None:
                subscriber.cancel()
            self._forwards[pattern] = None
        for imported in list(self._imported):
            self.bus.unregister_endpoint(imported)
        self._imported.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        nc, self._nc = self._nc, None
        self._confirmed = False
        for endpoint_id in self._exported:
            self._exported[endpoint_id] = None
        self._event_sub = None
        if nc is not None:
            await nc.close()

    async def __aenter__(self) -> NatsBridge:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _client(self) -> Client:
        if self._nc is None:
            raise NatsBridgeError(f"the NATS bridge {self.name!r} is not started; call start() first")
        return self._nc

    # -- requests -------------------------------------------------------------------

    async def export(self, endpoint_id: str) -> None:
        """Answer requests from other hosts to the local endpoint ``endpoint_id``."""
        _check_token("endpoint id", endpoint_id)
        if self._exported.get(endpoint_id) is not None:
            return
        self._exported[endpoint_id] = None
        if self._nc is not None:
            self._exported[endpoint_id] = await self._nc.subscribe(
                self.request_subject(endpoint_id), cb=self._on_request
            )
            await _confirm(self._nc)

    def import_endpoint(self, endpoint_id: str, *, timeout: float | None = None) -> None:
        """Register ``endpoint_id`` on the local bus; its requests go to whichever host exports it."""
        endpoint = EndpointId(_check_token("endpoint id", endpoint_id))
        subject = self.request_subject(endpoint_id)
        wait = self.request_timeout if timeout is None else timeout

        async def remote(envelope: MessageEnvelope) -> MessageEnvelope | None:
            nc = self._client()
            data = _CODEC.encode(envelope)
            if not isinstance(envelope.payload, RequestPayload):
                await nc.publish(subject, data)  # fire and forget: nobody awaits an answer
                return None
            method = envelope.payload.method
            try:
                reply = await nc.request(subject, data, timeout=wait)
            except nats.errors.NoRespondersError:
                raise TransportError(
                    f"no host exports endpoint {endpoint_id!r} on NATS (subject {subject!r} has no responders);"
                    f" request {method!r} failed"
                ) from None
            except nats.errors.TimeoutError:
                raise RequestTimeoutError(
                    f"request {method!r} to remote endpoint {endpoint_id!r} got no reply over NATS within {wait:g} s",
                    recipient=endpoint_id,
                    method=method,
                    timeout=wait,
                ) from None
            except nats.errors.Error as error:
                raise TransportError(f"request {method!r} to remote endpoint {endpoint_id!r} failed: {error}") from None
            return _decode(reply.data, f"reply from remote endpoint {endpoint_id!r}")

        self.bus.register_endpoint(endpoint, remote)
        self._imported.add(endpoint)

    async def _on_request(self, msg: Msg) -> None:
        """Answer in a task of its own, unless ``max_concurrent_requests`` are running: then busy, at once.

        Refusing (rather than waiting for room) keeps the bound: the NATS client
        would otherwise queue whatever the senders publish, and the requester
        learns at once that it should try again later.
        """
        if len(self._tasks) >= self.max_concurrent_requests:
            await self._refuse_busy(msg)
            return
        task = asyncio.get_running_loop().create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refuse_busy(self, msg: Msg) -> None:
        self.refused_busy += 1
        if not msg.reply:
            return
        endpoint_id = msg.subject.removeprefix(f"{self.prefix}.request.")
        busy = TransportError(
            f"NATS bridge {self.name!r} is busy: it answers at most {self.max_concurrent_requests} requests"
            " from other hosts at once; try again later"
        )
        try:
            header = _decode(msg.data, f"request on {msg.subject!r}").header
        except SerializationError:
            await msg.respond(_error_reply(busy, endpoint_id, "unknown", None))
            return
        await msg.respond(_error_reply(busy, header.recipient, header.sender, header.message_id))

    async def _answer(self, msg: Msg) -> None:
        endpoint_id = msg.subject.removeprefix(f"{self.prefix}.request.")
        try:
            envelope = _decode(msg.data, f"request on {msg.subject!r}")
        except SerializationError as error:
            if msg.reply:
                await msg.respond(_error_reply(error, endpoint_id, "unknown", None))
            return
        header = envelope.header
        if not isinstance(envelope.payload, RequestPayload):
            try:
                await self.bus.send(envelope)
            except IpcError as error:
                log.debug("could not deliver a %s from NATS: %s", header.message_type, error)
            return
        try:
            reply = await self.bus.request(envelope, timeout=self.request_timeout)
        except Exception as error:  # any failure goes back to the requester as an error envelope
            data = _error_reply(error, header.recipient, header.sender, header.message_id)
        else:
            data = _CODEC.encode(reply)
        if msg.reply:
            await msg.respond(data)

    # -- events ---------------------------------------------------------------------

    async def forward(self, pattern: str) -> None:
        """Send local events whose topic matches ``pattern`` (``*`` and ``>`` wildcards) to the other hosts."""
        if self._forwards.get(pattern) is not None:
            return
        self._forwards[pattern] = self.bus.subscribe(pattern, self._forward_event) if self._nc is not None else None

    async def _forward_event(self, envelope: MessageEnvelope) -> None:
        if envelope.header.message_id in self._seen or self._nc is None:
            return  # it came from NATS: sending it back would loop between hosts
        payload = envelope.payload
        if isinstance(payload, EventPayload):
            await self._nc.publish(self.event_subject(payload.topic), _CODEC.encode(envelope))

    async def publish_remote(self, topic: str, data: dict[str, Any]) -> None:
        """Publish an event to the other hosts only (not on the local bus)."""
        _check_token("topic", topic)
        envelope = MessageEnvelope.create(EventPayload(topic=topic, data=data), sender=self.name, recipient=BROADCAST)
        nc = self._client()
        await nc.publish(self.event_subject(topic), _CODEC.encode(envelope))
        await nc.flush()

    async def _on_event(self, msg: Msg) -> None:
        try:
            envelope = _decode(msg.data, f"event on {msg.subject!r}")
        except SerializationError as error:
            log.warning("%s", error)
            return
        if not isinstance(envelope.payload, EventPayload) or envelope.header.recipient != BROADCAST:
            log.warning("dropped a %s envelope on event subject %r", envelope.header.message_type, msg.subject)
            return
        self._seen[envelope.header.message_id] = None
        if len(self._seen) > _SEEN_LIMIT:
            self._seen.popitem(last=False)
        if self.bus.running:
            await self.bus.send(envelope)


async def _confirm(nc: Client) -> None:
    """Return once the server has processed every subscription sent so far.

    One ``flush()`` does not prove it: nats-py (2.16) writes the PING straight
    to the socket, ahead of commands still waiting in its pending buffer, so the
    PONG can come back before the server has seen a SUB sent just before it, and
    an event published by another host in that window reaches nobody.  The first
    flush hands the pending buffer to the client's flusher task, which writes it
    before the PONG can arrive; the second PING therefore travels behind the SUB.
    """
    await nc.flush()
    await nc.flush()


def _tls_context(ca: str | None, cert: str | None, key: str | None) -> ssl.SSLContext:
    """A client context verifying the server (by ``ca`` or the system store), with a client cert if given."""
    try:
        context = ssl.create_default_context(cafile=ca)
        if cert is not None:
            context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise NatsBridgeError(f"cannot load the NATS bridge's TLS files: {error}") from None
    return context


def _decode(data: bytes, what: str) -> MessageEnvelope:
    try:
        envelope: MessageEnvelope = _CODEC.decode(data)
    except Exception as error:
        raise SerializationError(f"malformed msgpack envelope in {what}: {error}") from None
    return envelope


def _error_reply(error: BaseException, sender: str, recipient: str, correlation_id: MessageId | None) -> bytes:
    envelope = MessageEnvelope.create(
        ErrorPayload.from_exception(error), sender=sender, recipient=recipient, correlation_id=correlation_id
    )
    return _CODEC.encode(envelope)
