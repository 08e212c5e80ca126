"""The connection handshake: protocol version, codec and (optionally) a token.

The handshake is the first frame in each direction and is always JSON, whatever
codec is negotiated afterwards, so that a client in any language can at least
learn why it was refused.  The client speaks first::

    client -> {"symphony": 1, "codecs": ["msgpack", "json"], "token": "..." | null}
    server -> {"symphony": 1, "codec": "msgpack"}      accepted
    server -> {"error": "reason"}                       refused; the server then closes

Unknown fields are ignored in both directions, so later versions may add some.
Every refusal is counted (:class:`RefusalCounter`) and logged without the token.

Both sides run over any :class:`FrameChannel` (whole frames in and out), so the
same code serves sockets, TLS and pipes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Final, Protocol

import msgspec

from symphony.hookspecs import PROTOCOL_VERSION, SerializationError, TransportError

from .framing import FrameTooLargeError

__all__ = [
    "DEFAULT_CODECS",
    "MAX_HANDSHAKE_SIZE",
    "ClientHello",
    "FrameChannel",
    "HandshakeRefusedError",
    "RefusalCounter",
    "ServerReply",
    "client_handshake",
    "decode_client_hello",
    "decode_server_reply",
    "encode_client_hello",
    "encode_refusal",
    "server_handshake",
]

log = logging.getLogger("symphony.ipc.handshake")

#: Codecs this side supports, in order of preference; MessagePack is the default.
DEFAULT_CODECS: Final = ("msgpack", "json")
#: A hello is a few dozen bytes; anything bigger than this is refused unread.
MAX_HANDSHAKE_SIZE: Final = 64 * 1024


class FrameChannel(Protocol):
    """Whole frames over some byte stream; the handshake needs nothing more.

    The channel itself should hold its first incoming frame to
    ``MAX_HANDSHAKE_SIZE`` (refusing a larger length prefix unread); the
    handshake checks the size again in case it does not.
    """

    async def send(self, frame: bytes) -> None: ...

    async def receive(self) -> bytes: ...

    async def close(self) -> None: ...


class ClientHello(msgspec.Struct, frozen=True, kw_only=True):
    """The client's first frame."""

    symphony: int
    codecs: list[str]
    token: str | None = None


class ServerReply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The server's first frame: either ``symphony`` and ``codec``, or ``error``."""

    symphony: int | None = None
    codec: str | None = None
    error: str | None = None


_hello_decoder: Final = msgspec.json.Decoder(ClientHello)
_reply_decoder: Final = msgspec.json.Decoder(ServerReply)
_encoder: Final = msgspec.json.Encoder()


class HandshakeRefusedError(TransportError):
    """The server refused the connection; ``reason`` is what it said."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"handshake refused: {reason}")
        self.reason = reason


class RefusalCounter:
    """How many connections a listener refused, in total and by reason code.

    Reason codes: ``version``, ``codec``, ``token``, ``peer_uid``,
    ``malformed``, ``timeout``, ``busy`` (the listener was full), and ``tls`` (a failed TLS handshake, counted
    by the TCP listener before this handshake could start).  Operators read these to spot misconfigured
    clients or probing, which a log line alone makes hard to quantify.
    """

    def __init__(self) -> None:
        self.by_reason: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def record(self, code: str) -> None:
        self.by_reason[code] += 1

    def __repr__(self) -> str:
        return f"RefusalCounter(total={self.total}, by_reason={dict(self.by_reason)})"


def encode_client_hello(codecs: Sequence[str], token: str | None) -> bytes:
    return _encoder.encode(ClientHello(symphony=PROTOCOL_VERSION, codecs=list(codecs), token=token))


def encode_refusal(reason: str) -> bytes:
    """The server's refusal frame payload, ``{"error": reason}``."""
    return _encoder.encode(ServerReply(error=reason))


def decode_client_hello(data: bytes) -> ClientHello:
    """Parse a client hello; raises SerializationError naming what was wrong."""
    try:
        return _hello_decoder.decode(data)
    except msgspec.DecodeError as error:
        raise SerializationError(f"malformed handshake: {error}") from None


def decode_server_reply(data: bytes) -> ServerReply:
    """Parse a server reply; raises SerializationError naming what was wrong."""
    try:
        reply = _reply_decoder.decode(data)
    except msgspec.DecodeError as error:
        raise SerializationError(f"malformed handshake reply: {error}") from None
    if reply.error is None and (reply.symphony is None or reply.codec is None):
        raise SerializationError("malformed handshake reply: needs `error`, or both `symphony` and `codec`")
    return reply


class _Refusal(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def _check(hello: ClientHello, supported: Sequence[str], token: str | None) -> str:
    if hello.symphony != PROTOCOL_VERSION:
        raise _Refusal(
            "version",
            f"protocol version mismatch: client speaks {hello.symphony}, server speaks {PROTOCOL_VERSION}",
        )
    if token is not None:
        if hello.token is None:
            raise _Refusal("token", "a token is required by this listener and none was sent")
        if not hmac.compare_digest(hello.token.encode(), token.encode()):
            raise _Refusal("token", "invalid token")
    for codec in hello.codecs:
        if codec in supported:
            return codec
    raise _Refusal("codec", f"no common codec: client offers {hello.codecs}, server supports {list(supported)}")


async def _receive_hello(channel: FrameChannel) -> bytes:
    data = await channel.receive()
    if len(data) > MAX_HANDSHAKE_SIZE:
        raise SerializationError(f"handshake frame of {len(data)} bytes exceeds {MAX_HANDSHAKE_SIZE}")
    return data


def _tls_hint(error: SerializationError) -> str:
    """A TLS ClientHello read as a frame has a length prefix of 0x1603....: say so, not just "too large"."""
    if isinstance(error, FrameTooLargeError) and error.got >> 16 == 0x1603:
        return " (this looks like a TLS handshake, and this listener does not have tls enabled)"
    return ""


async def server_handshake(
    channel: FrameChannel,
    *,
    peer: str,
    refusals: RefusalCounter,
    supported: Sequence[str] = DEFAULT_CODECS,
    token: str | None = None,
    timeout: float = 10.0,
    peer_refusal: str | None = None,
) -> str | None:
    """Answer a client's hello; the negotiated codec, or None after a refusal.

    On refusal the reason is sent as ``{"error": ...}``, counted, logged and
    the channel closed.  ``peer_refusal`` is a reason decided before the hello
    (the Unix peer-credential check); the hello is still read first, so the
    client finds the reply where it expects it.  The whole exchange is bounded
    by ``timeout`` so a silent or trickling client cannot hold a slot forever.
    """
    try:
        try:
            data = await asyncio.wait_for(_receive_hello(channel), timeout)
        except TimeoutError:
            raise _Refusal("timeout", f"no handshake within {timeout} s") from None
        except SerializationError as error:
            raise _Refusal("malformed", f"malformed handshake: {error.message}{_tls_hint(error)}") from None
        if peer_refusal is not None:
            raise _Refusal("peer_uid", peer_refusal)
        try:
            hello = decode_client_hello(data)
        except SerializationError as error:
            raise _Refusal("malformed", error.message) from None
        codec = _check(hello, supported, token)
        await asyncio.wait_for(
            channel.send(_encoder.encode(ServerReply(symphony=PROTOCOL_VERSION, codec=codec))), timeout
        )
        return codec
    except _Refusal as refusal:
        refusals.record(refusal.code)
        log.warning("refused connection from %s: %s", peer, refusal.reason)
        with contextlib.suppress(TransportError, TimeoutError):
            await asyncio.wait_for(channel.send(encode_refusal(refusal.reason)), timeout)
        await channel.close()
        return None
    except (TransportError, TimeoutError) as error:
        log.info("connection from %s went away during the handshake: %s", peer, error)
        await channel.close()
        return None


async def client_handshake(
    channel: FrameChannel,
    *,
    codecs: Sequence[str] = DEFAULT_CODECS,
    token: str | None = None,
    timeout: float = 10.0,
) -> str:
    """Send our hello and return the codec the server chose.

    Raises HandshakeRefusedError with the server's reason, TransportError if
    the server vanished or did not answer within ``timeout``, and
    SerializationError if its reply is not a handshake at all.
    """
    try:
        await asyncio.wait_for(channel.send(encode_client_hello(codecs, token)), timeout)
        data = await asyncio.wait_for(_receive_hello(channel), timeout)
    except TimeoutError:
        raise TransportError(f"no handshake reply within {timeout} s") from None
    reply = decode_server_reply(data)
    if reply.error is not None:
        raise HandshakeRefusedError(reply.error)
    if reply.symphony != PROTOCOL_VERSION:
        raise HandshakeRefusedError(
            f"protocol version mismatch: server speaks {reply.symphony}, client speaks {PROTOCOL_VERSION}"
        )
    if reply.codec not in codecs:
        raise SerializationError(f"server chose codec {reply.codec!r}, which the client did not offer ({codecs})")
    assert reply.codec is not None
    return reply.codec
