"""Length-prefixed framing: how whole messages are cut out of a byte stream.

Every frame on a stream transport (Unix socket, TCP, stdio) is a 4-byte
big-endian unsigned length followed by exactly that many payload bytes.  The
length comes first so a reader knows how much to wait for, and so it can refuse
an absurd length *before* reading or allocating anything: a hostile or buggy
peer cannot make us buffer gigabytes by announcing them.

After an oversized length the stream has lost its frame boundary (the payload
was never read), so the caller must close the connection; a malformed payload
of acceptable size leaves the boundary intact and the next frame is readable.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Final

from symphony.hookspecs import SerializationError, TransportError

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "HEADER_SIZE",
    "FrameTooLargeError",
    "encode_frame",
    "read_frame",
    "write_frame",
]

#: 16 MiB: far above any envelope we send, far below what would hurt a host.
DEFAULT_MAX_FRAME_SIZE: Final = 16 * 1024 * 1024
#: Size of the length prefix in bytes.
HEADER_SIZE: Final = 4
_HEADER: Final = struct.Struct(">I")
_MAX_ENCODABLE: Final = 0xFFFFFFFF


class FrameTooLargeError(SerializationError):
    """A frame's announced length exceeds the maximum; ``expected`` is the limit, ``got`` the length.

    Raised before the payload is read, so the stream is no longer aligned on a
    frame boundary and the connection cannot carry further frames.
    """

    def __init__(self, *, expected: int, got: int) -> None:
        super().__init__(
            f"frame too large: expected at most {expected} bytes, got a length prefix of {got} bytes; "
            "raise max_frame_size on both sides if such messages are intended"
        )
        self.expected = expected
        self.got = got


def encode_frame(payload: bytes, max_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    """``payload`` with its length prefix; refuses what the peer would refuse anyway."""
    size = len(payload)
    if size > min(max_size, _MAX_ENCODABLE):
        raise FrameTooLargeError(expected=min(max_size, _MAX_ENCODABLE), got=size)
    return _HEADER.pack(size) + payload


async def read_frame(reader: asyncio.StreamReader, max_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    """The next frame's payload.

    Raises FrameTooLargeError (a SerializationError) for a length above
    ``max_size`` without reading the payload, and TransportError when the peer
    closes the stream (cleanly between frames, or "mid-frame" inside one).
    """
    try:
        header = await reader.readexactly(HEADER_SIZE)
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            raise TransportError("peer closed the connection") from None
        raise TransportError(
            f"peer closed mid-frame: expected a {HEADER_SIZE}-byte length prefix, got {len(error.partial)} bytes"
        ) from None
    except (ConnectionError, OSError) as error:
        raise TransportError(f"connection lost while reading a frame: {error}") from error
    (length,) = _HEADER.unpack(header)
    if length > max_size:
        raise FrameTooLargeError(expected=max_size, got=length)
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as error:
        raise TransportError(
            f"peer closed mid-frame: expected {length} payload bytes, got {len(error.partial)}"
        ) from None
    except (ConnectionError, OSError) as error:
        raise TransportError(f"connection lost while reading a frame: {error}") from error


async def write_frame(writer: asyncio.StreamWriter, payload: bytes, max_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
    """Write one frame and wait for the buffer to drain (backpressure on a slow peer)."""
    frame = encode_frame(payload, max_size)
    try:
        writer.write(frame)
        await writer.drain()
    except (ConnectionError, OSError) as error:
        raise TransportError(f"connection lost while writing a frame: {error}") from error
