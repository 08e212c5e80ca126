"""A Connection and a Listener over framed byte streams, shared by the unix, tcp and stdio transports.

The three transports differ only in how a byte stream is obtained (a socket
path, a host and port, a child's pipes) and in who may connect; framing, the
handshake and envelope encoding are the same, so they live here once.  The
bytes move through :class:`~symphony.hookspecs.wire.frames.FrameProtocol`, and
:class:`~symphony.hookspecs.wire.connection.StreamConnection` (in the SDK, which the sandbox's
worker shares) carries the envelopes.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from symphony.hookspecs import RetryPolicy, TransportError
from symphony.hookspecs.wire.connection import EnvelopeFrames, StreamConnection
from symphony.hookspecs.wire.frames import FrameProtocol
from symphony.hookspecs.wire.framing import encode_frame
from symphony.hookspecs.wire.handshake import RefusalCounter, client_handshake, encode_refusal, server_handshake

from ._config import TransportConfig, TransportConfigError, load_config
from ._tls import describe_tls_failure

__all__ = [
    "EnvelopeFrames",
    "OpenFrames",
    "StreamConnection",
    "StreamListener",
    "TransportConfig",
    "TransportConfigError",
    "connect_stream",
    "connect_with_retry",
    "load_config",
]

log = logging.getLogger("symphony.ipc.transport")


#: Called with the accepted transport before the handshake; returns a refusal reason or None.
PeerCheck = Callable[[asyncio.BaseTransport], str | None]


class StreamListener:
    """Accepts handshaken connections from an asyncio server; implements the Listener port.

    Pass :meth:`protocol_factory` to ``loop.create_server`` (or
    ``create_unix_server``).  Each incoming connection is (TLS-upgraded and)
    handshaken in its own task, so a slow or hostile client never delays
    others; only accepted connections reach ``accept()``.  ``refusals``
    counts the rest.  At most ``max_connections`` may be handshaking or open
    at once (``connections``); the next is refused at once (code ``busy``).
    """

    def __init__(
        self,
        address: str,
        config: TransportConfig,
        peer_check: PeerCheck | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.address = address
        self.config = config
        self.refusals = RefusalCounter()
        self._peer_check = peer_check
        self._tls = tls
        self._server: asyncio.AbstractServer | None = None
        self._queue: asyncio.Queue[StreamConnection] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_close: list[Callable[[], Awaitable[None] | None]] = []
        self._closed = False
        self._live = 0
        self._full_logged = False

    @property
    def connections(self) -> int:
        """Connections handshaking or open now (each counts until its socket is gone)."""
        return self._live

    def _attach(self, server: asyncio.AbstractServer) -> None:
        self._server = server

    def on_close(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        self._on_close.append(callback)

    def protocol_factory(self) -> FrameProtocol:
        """A protocol for one incoming connection; its admission starts once it is connected."""
        return _AdmittedProtocol(
            self,
            max_frame_size=self.config.max_frame_size,
            buffer_size=self.config.buffer_size,
            pause_on_connect=self._tls is not None,
            output_limit=self.config.output_limit,
            stall_timeout=self.config.stall_timeout,
        )

    def _connected(self, protocol: _AdmittedProtocol) -> None:
        if self._live >= self.config.max_connections:
            self._refuse_busy(protocol)
            return
        self._live += 1
        protocol.counted = True
        task = asyncio.get_running_loop().create_task(self._admit(protocol))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _disconnected(self) -> None:
        self._live -= 1
        if self._live < self.config.max_connections:
            self._full_logged = False

    def _refuse_busy(self, protocol: FrameProtocol) -> None:
        """Refuse without reading: a plain client finds the reason where it expects the reply."""
        assert protocol.transport is not None
        reason = f"too many connections: this listener serves at most {self.config.max_connections}; try again later"
        self.refusals.record("busy")
        if not self._full_logged:  # once per episode, not once per refused client of a flood
            self._full_logged = True
            log.warning("listener on %s is full (%d connections); refusing more", self.address, self._live)
        if self._tls is None:
            protocol.transport.write(encode_frame(encode_refusal(reason)))  # type: ignore[attr-defined]
        protocol.close_now()

    async def _admit(self, protocol: FrameProtocol) -> None:
        assert protocol.transport is not None
        peer = _describe(protocol.transport)
        try:
            if self._tls is not None and not await self._start_tls(protocol, peer):
                return
            refusal = self._peer_check(protocol.transport) if self._peer_check else None
            codec = await server_handshake(
                protocol,
                peer=peer,
                refusals=self.refusals,
                supported=self.config.codecs,
                token=self.config.token,
                timeout=self.config.timeout,
                peer_refusal=refusal,
            )
        except asyncio.CancelledError:  # the listener closed mid-handshake
            protocol.close_now()
            raise
        if codec is None:
            return
        connection = StreamConnection(protocol, codec=codec, peer=peer, max_frame_size=self.config.max_frame_size)
        if self._closed:
            await connection.close()
            return
        self._queue.put_nowait(connection)

    async def _start_tls(self, protocol: FrameProtocol, peer: str) -> bool:
        """Upgrade an accepted connection to TLS; a failure is a refusal (code ``tls``), counted and logged."""
        assert self._tls is not None and protocol.transport is not None
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                protocol.transport,  # type: ignore[arg-type]
                protocol,
                self._tls,
                server_side=True,
                ssl_handshake_timeout=self.config.timeout,
            )
        except (OSError, TimeoutError) as error:
            self.refusals.record("tls")
            log.warning(
                "refused connection from %s: TLS handshake failed: %s", peer, str(error) or type(error).__name__
            )
            protocol.close_now()
            return False
        if transport is None:  # the connection went away during the handshake
            protocol.close_now()
            return False
        protocol.use_transport(transport)
        return True

    async def accept(self) -> StreamConnection:
        if self._closed:
            raise TransportError(f"listener on {self.address} is closed")
        return await self._queue.get()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        while not self._queue.empty():
            await self._queue.get_nowait().close()
        for callback in self._on_close:
            result = callback()
            if result is not None:
                await result

    async def __aenter__(self) -> StreamListener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _AdmittedProtocol(FrameProtocol):
    """A listener's FrameProtocol: tells the listener when a client has connected and when it is gone."""

    def __init__(self, listener: StreamListener, **options: Any) -> None:
        super().__init__(**options)
        self._listener = listener
        self.counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._listener._connected(self)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.counted:
            self.counted = False
            self._listener._disconnected()


def _describe(transport: asyncio.BaseTransport) -> str:
    name: Any = transport.get_extra_info("peername")
    return f"{name[0]}:{name[1]}" if isinstance(name, tuple) and len(name) >= 2 else str(name or "unix peer")


#: Opens a connection whose protocol comes from the given factory (``loop.create_connection`` and kin).
OpenFrames = Callable[[Callable[[], FrameProtocol]], Awaitable[tuple[asyncio.BaseTransport, FrameProtocol]]]


async def connect_with_retry(address: str, open_frames: OpenFrames, config: TransportConfig) -> FrameProtocol:
    """Open a connection, retrying per the retry policy while the endpoint is absent or refusing.

    A server that is still starting is the usual cause, so the delays grow as
    the policy says; the final error names the address and the attempts made.
    A TLS failure is not retried: it will not fix itself (TlsError says why).
    """
    from tenacity import RetryCallState, retry_if_exception_type  # on first connect: keeps plugin loading cheap

    from ..._backoff import retrying

    policy: RetryPolicy = config.retry_policy
    attempts = max(1, policy.max_attempts)

    def factory() -> FrameProtocol:
        return FrameProtocol(
            max_frame_size=config.max_frame_size, buffer_size=config.buffer_size, output_limit=config.output_limit
        )

    async def failed(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.debug("connect to %s failed (attempt %d/%d): %s", address, state.attempt_number, attempts, error)

    try:
        async for attempt in retrying(
            policy, retry=retry_if_exception_type((OSError, TimeoutError)), before_sleep=failed
        ):
            with attempt:
                try:
                    _, protocol = await asyncio.wait_for(open_frames(factory), config.timeout)
                except ssl.SSLError as error:  # not retried: it will not fix itself
                    raise describe_tls_failure(address, error, config) from None
                return protocol
    except (OSError, TimeoutError) as error:
        why = str(error) or "timed out"
        raise TransportError(f"cannot connect to {address} after {attempts} attempt(s): {why}") from None
    raise AssertionError("unreachable: the last failure is re-raised")  # pragma: no cover


async def connect_stream(address: str, open_frames: OpenFrames, config: TransportConfig) -> StreamConnection:
    """Open a connection (with retries), run the client handshake, and wrap it as a StreamConnection."""
    protocol = await connect_with_retry(address, open_frames, config)
    try:
        codec = await client_handshake(protocol, codecs=config.codecs, token=config.token, timeout=config.timeout)
    except BaseException:
        protocol.close_now()
        raise
    return StreamConnection(protocol, codec=codec, peer=address, max_frame_size=config.max_frame_size)
