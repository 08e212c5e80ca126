"""One framed, handshaken link carrying envelopes: the Connection port over a :class:`~.frames.FrameProtocol`.

Shared by every stream transport (unix, tcp, stdio) and the sandbox's worker.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import msgspec

from .._envelope import MessageEnvelope
from .._exceptions import SerializationError, TransportError
from .codecs import DECODERS, ENCODERS
from .frames import FrameProtocol
from .framing import DEFAULT_MAX_FRAME_SIZE, FrameTooLargeError

__all__ = ["EnvelopeFrames", "StreamConnection"]


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
        return self.decode_envelope(await self.receive())

    def decode_envelope(self, frame: bytes) -> MessageEnvelope:
        """``frame`` (from :meth:`receive`) as an envelope; SerializationError naming the problem."""
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
        frames: FrameProtocol,
        *,
        codec: str,
        peer: str,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        self.codec = codec
        self.peer = peer
        self.max_frame_size = max_frame_size
        self.broken = False
        self._frames = frames
        self._encode = ENCODERS[codec]
        self._decode = DECODERS[codec]
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def output_size(self) -> int:
        """Bytes of frames sent but not yet taken by the kernel."""
        return self._frames.output_size

    @property
    def ended(self) -> asyncio.Future[None]:
        """Done once the peer has sent its last byte (end of stream) or the connection is lost."""
        return self._frames.ended

    async def send(self, frame: bytes) -> None:
        if self._closed:
            raise TransportError(f"connection to {self.peer} is closed")
        await self._frames.send(frame)

    async def receive(self) -> bytes:
        """The next whole frame; TransportError once the peer is gone."""
        if self._closed or self.broken:
            raise TransportError(f"connection to {self.peer} is closed")
        frames = self._frames
        try:  # the protocol's future is awaited from this frame: no coroutine per frame in between
            while (frame := frames.next_frame()) is None:
                await frames.readable()
        except FrameTooLargeError:
            self.broken = True
            raise
        return frame

    def offer_envelope(self, envelope: MessageEnvelope) -> bool:
        """Send ``envelope`` unless the output is full (then False, nothing sent); never waits."""
        if self._closed:
            raise TransportError(f"connection to {self.peer} is closed")
        return self._frames.offer(self._encode(envelope))

    async def send_envelope(self, envelope: MessageEnvelope) -> None:
        # EnvelopeFrames.send_envelope without a coroutine per frame while the output has room
        # (the hot path): ``offer`` writes at once; only a full output waits in ``send``.
        if self._closed:
            raise TransportError(f"connection to {self.peer} is closed")
        frames = self._frames
        frame = self._encode(envelope)
        if not frames.offer(frame):
            await frames.send(frame)
        elif not frames.writable:
            await frames.drained()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """What the asyncio transport knows: ``peername``, ``socket``, and over TLS ``peercert``, ``cipher``."""
        transport = self._frames.transport
        return default if transport is None else transport.get_extra_info(name, default)

    def detach_socket(self) -> socket.socket:
        """Hand the underlying socket over (a duplicate) and close this connection; for the shm upgrade."""
        self._closed = True
        return self._frames.detach_socket()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._frames.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.peer} codec={self.codec}>"
