"""A Connection and a Listener over asyncio streams, shared by the unix, tcp and stdio transports.

The three transports differ only in how a byte stream is obtained (a socket
path, a host and port, a child's pipes) and in who may connect; framing, the
handshake and envelope encoding are the same, so they live here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import msgspec

from symphony.hookspecs import (
    ConfigurationError,
    IpcError,
    MessageEnvelope,
    RetryPolicy,
    SerializationError,
    TransportError,
)

from ..codecs import CODECS
from ..framing import DEFAULT_MAX_FRAME_SIZE, FrameTooLargeError, read_frame, write_frame
from ..handshake import DEFAULT_CODECS, RefusalCounter, client_handshake, server_handshake

__all__ = [
    "StreamConnection",
    "StreamListener",
    "TransportConfig",
    "TransportConfigError",
    "connect_stream",
    "connect_with_retry",
    "load_config",
]

log = logging.getLogger("symphony.ipc.transport")

_ENCODERS: Final = {codec.name: codec.encode for codec in CODECS}
_DECODERS: Final = {codec.name: codec.decode for codec in CODECS}


class TransportConfigError(IpcError, ConfigurationError):
    """A transport was configured in a way that would be unsafe or cannot work."""

    category = "ipc.configuration"


class TransportConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The seed's TransportConfig, as each transport factory receives it.

    - ``buffer_size``: the stream reader's buffer limit in bytes.
    - ``timeout``: seconds for one connect attempt and for the handshake.
    - ``retry_policy``: how ``connect`` retries a refused or missing endpoint.
    - ``max_frame_size``: largest frame accepted (and sent), in bytes.
    - ``codecs``: what a client offers / a server accepts, in order of preference.
    - ``token``: sent by clients; required from clients by listeners when set.
    - ``allowed_uids``: Unix only; peers allowed besides none (default: our own uid only).
    """

    buffer_size: int = 64 * 1024
    timeout: float = 10.0
    retry_policy: RetryPolicy = RetryPolicy()
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    codecs: tuple[str, ...] = DEFAULT_CODECS
    token: str | None = None
    allowed_uids: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        unknown = [c for c in self.codecs if c not in _ENCODERS]
        if unknown or not self.codecs:
            raise TransportConfigError(f"codecs must be a non-empty subset of {sorted(_ENCODERS)}, got {self.codecs}")


class EnvelopeFrames:
    """Envelopes over any frame connection: the negotiated codec on top of ``send``/``receive``."""

    codec: str
    peer: str
    _encode: Callable[[Any], bytes]
    _decode: Callable[[bytes], Any]

    async def send(self, frame: bytes) -> None:
        raise NotImplementedError

    async def receive(self) -> bytes:
        raise NotImplementedError

    async def send_envelope(self, envelope: MessageEnvelope) -> None:
        await self.send(self._encode(envelope))

    async def receive_envelope(self) -> MessageEnvelope:
        """The next envelope; SerializationError (naming the problem) if the frame is not one."""
        frame = await self.receive()
        try:
            envelope: MessageEnvelope = self._decode(frame)
        except msgspec.DecodeError as error:
            raise SerializationError(f"malformed {self.codec} envelope from {self.peer}: {error}") from None
        return envelope


class StreamConnection(EnvelopeFrames):
    """One framed, handshaken link; implements the Connection port.

    ``send``/``receive`` move raw frames; ``send_envelope``/``receive_envelope``
    use the negotiated ``codec``.  A malformed envelope raises SerializationError
    but leaves the connection usable (the frame boundary is intact); an
    oversized frame also raises SerializationError but marks the connection
    ``broken``, because its payload was never read.

    Each frame is written with a single ``write`` call, so concurrent senders
    never interleave frames; there should be one reader at a time.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        codec: str,
        peer: str,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        self.codec = codec
        self.peer = peer
        self.max_frame_size = max_frame_size
        self.broken = False
        self._reader = reader
        self._writer = writer
        self._encode = _ENCODERS[codec]
        self._decode = _DECODERS[codec]
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, frame: bytes) -> None:
        if self._closed:
            raise TransportError(f"connection to {self.peer} is closed")
        await write_frame(self._writer, frame, self.max_frame_size)

    async def receive(self) -> bytes:
        """The next whole frame; TransportError once the peer is gone."""
        if self._closed or self.broken:
            raise TransportError(f"connection to {self.peer} is closed")
        try:
            return await read_frame(self._reader, self.max_frame_size)
        except FrameTooLargeError:
            self.broken = True
            raise

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.peer} codec={self.codec}>"


#: Called with the accepted writer before the handshake; returns a refusal reason or None.
PeerCheck = Callable[[asyncio.StreamWriter], str | None]


class StreamListener:
    """Accepts handshaken connections from an asyncio server; implements the Listener port.

    Each incoming stream is handshaken in its own task, so a slow or hostile
    client never delays others; only accepted connections reach ``accept()``.
    ``refusals`` counts the rest.
    """

    def __init__(self, address: str, config: TransportConfig, peer_check: PeerCheck | None = None) -> None:
        self.address = address
        self.config = config
        self.refusals = RefusalCounter()
        self._peer_check = peer_check
        self._server: asyncio.AbstractServer | None = None
        self._queue: asyncio.Queue[StreamConnection] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_close: list[Callable[[], Awaitable[None] | None]] = []
        self._closed = False

    def _attach(self, server: asyncio.AbstractServer) -> None:
        self._server = server

    def on_close(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        self._on_close.append(callback)

    def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The asyncio server's per-connection callback."""
        task = asyncio.get_running_loop().create_task(self._admit(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _admit(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _describe(writer)
        refusal = self._peer_check(writer) if self._peer_check else None
        try:
            codec = await server_handshake(
                reader,
                writer,
                peer=peer,
                refusals=self.refusals,
                supported=self.config.codecs,
                token=self.config.token,
                timeout=self.config.timeout,
                peer_refusal=refusal,
            )
        except asyncio.CancelledError:  # the listener closed mid-handshake
            writer.close()
            raise
        if codec is None:
            return
        connection = StreamConnection(reader, writer, codec=codec, peer=peer, max_frame_size=self.config.max_frame_size)
        if self._closed:
            await connection.close()
            return
        self._queue.put_nowait(connection)

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


def _describe(writer: asyncio.StreamWriter) -> str:
    name: Any = writer.get_extra_info("peername")
    return f"{name[0]}:{name[1]}" if isinstance(name, tuple) and len(name) >= 2 else str(name or "unix peer")


async def connect_with_retry(
    address: str,
    open_stream: Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]],
    policy: RetryPolicy,
    timeout: float,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a stream, retrying per ``policy`` while the endpoint is absent or refusing.

    A server that is still starting is the usual cause, so the delays grow as
    the policy says; the final error names the address and the attempts made.
    """
    attempts = max(1, policy.max_attempts)
    last: BaseException | None = None
    for attempt in range(1, attempts + 1):
        await asyncio.sleep(policy.delay(attempt))
        try:
            return await asyncio.wait_for(open_stream(), timeout)
        except (OSError, TimeoutError) as error:
            last = error
            log.debug("connect to %s failed (attempt %d/%d): %s", address, attempt, attempts, error)
    raise TransportError(f"cannot connect to {address} after {attempts} attempt(s): {last or 'timed out'}")


async def connect_stream(
    address: str,
    open_stream: Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]],
    config: TransportConfig,
) -> StreamConnection:
    """Open a stream (with retries), run the client handshake, and wrap it as a connection."""
    reader, writer = await connect_with_retry(address, open_stream, config.retry_policy, config.timeout)
    try:
        codec = await client_handshake(reader, writer, codecs=config.codecs, token=config.token, timeout=config.timeout)
    except BaseException:
        writer.close()
        raise
    return StreamConnection(reader, writer, codec=codec, peer=address, max_frame_size=config.max_frame_size)


def load_config(config: TransportConfig | Mapping[str, Any] | None) -> TransportConfig:
    """A TransportConfig from a settings mapping (or one already built); errors name the key."""
    if config is None:
        return TransportConfig()
    if isinstance(config, TransportConfig):
        return config
    try:
        return msgspec.convert(dict(config), TransportConfig)
    except msgspec.ValidationError as error:
        raise TransportConfigError(f"invalid transport configuration: {error}") from None
