"""Length-prefixed framing: how whole messages are cut out of a byte stream.

Every frame on a stream transport (Unix socket, TCP, stdio) is a 4-byte
big-endian unsigned length followed by exactly that many payload bytes.  The
length comes first so a reader knows how much to wait for, and so it can refuse
an absurd length *before* reading or allocating anything: a hostile or buggy
peer cannot make us buffer gigabytes by announcing them.

After an oversized length the stream has lost its frame boundary (the payload
was never read), so the caller must close the connection; a malformed payload
of acceptable size leaves the boundary intact and the next frame is readable.

:class:`FrameDecoder` does the cutting without any I/O (bytes in, frames out),
so the asyncio protocol that feeds it stays small and the decoder can be
fuzzed on its own.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Final

from symphony.hookspecs import SerializationError, TransportError

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "HEADER_SIZE",
    "FrameDecoder",
    "FrameTooLargeError",
    "encode_frame",
]

#: 16 MiB: far above any envelope we send, far below what would hurt a host.
DEFAULT_MAX_FRAME_SIZE: Final = 16 * 1024 * 1024
#: Size of the length prefix in bytes.
HEADER_SIZE: Final = 4
_HEADER: Final = struct.Struct(">I")
_MAX_ENCODABLE: Final = 0xFFFFFFFF
#: A receive buffer never offers the kernel less room than this (a tiny read costs a whole system call).
_MIN_READ: Final = 4096
#: A buffer that must grow grows by at least this much (up to the frame's length), so a large frame takes few copies.
_GROWTH: Final = 1024 * 1024


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


class FrameDecoder:
    """Cuts frames out of a byte stream into ``frames`` (a deque of payloads), without I/O.

    Bytes arrive either by :meth:`feed`, or straight from the kernel: the
    caller reads into :meth:`buffer` (``recv_into``) and reports the count to
    :meth:`commit`, which saves a copy on the hot path.  The receive buffer
    starts at ``buffer_size`` and grows with the bytes of a frame in progress
    that have actually arrived (to at most twice them, or them plus 1 MiB,
    and never beyond the frame's length), shrinking back when it empties: an
    announced length reserves nothing.  ``first_limit`` caps the first frame
    alone: it is the handshake, which may be held to a much smaller size than
    the frames after it.

    A length above the limit raises FrameTooLargeError and leaves the decoder
    ``failed``; frames completed before it stay in ``frames``.
    """

    def __init__(
        self, max_size: int = DEFAULT_MAX_FRAME_SIZE, *, buffer_size: int = 64 * 1024, first_limit: int | None = None
    ) -> None:
        self.max_size = max_size
        self.frames: deque[bytes] = deque()
        #: Payload bytes sitting in ``frames``, for the caller's read flow control.
        self.queued = 0
        self.failed: FrameTooLargeError | None = None
        self._size = max(buffer_size, _MIN_READ)
        self._buf = bytearray(self._size)
        self._view = memoryview(self._buf)
        self._start = 0  # first unparsed byte
        self._end = 0  # one past the last received byte
        self._limit = max_size if first_limit is None else min(first_limit, max_size)
        self._first = first_limit is not None

    @property
    def pending(self) -> int:
        """Received bytes not yet part of a whole frame (non-zero at EOF means the peer stopped mid-frame)."""
        return self._end - self._start

    def buffer(self) -> memoryview:
        """Free space to receive into; never empty."""
        return self._view[self._end :]

    def feed(self, data: bytes) -> None:
        """Add ``data`` (any amount, any split) and cut whatever frames it completes."""
        offset = 0
        while offset < len(data):
            room = self.buffer()
            count = min(len(room), len(data) - offset)
            room[:count] = data[offset : offset + count]
            room.release()
            offset += count
            self.commit(count)
            if self.failed is not None:
                raise self.failed

    def commit(self, count: int) -> None:
        """``count`` bytes were written into :meth:`buffer`: cut the frames they complete."""
        if self.failed is not None:
            raise self.failed
        buf, view = self._buf, self._view
        start, end = self._start, self._end + count
        if start == 0 and end > HEADER_SIZE and not self._first:
            # The usual read: one whole frame at the front of the buffer (request/response traffic).
            length = (buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]
            if end == HEADER_SIZE + length and length <= self._limit:
                self.frames.append(view[HEADER_SIZE:end].tobytes())
                self.queued += length
                self._end = 0
                if len(buf) > self._size:
                    self._resize(self._size)
                return
        while end - start >= HEADER_SIZE:
            length = (buf[start] << 24) | (buf[start + 1] << 16) | (buf[start + 2] << 8) | buf[start + 3]
            if length > self._limit:
                self._start, self._end = start, end
                self.failed = FrameTooLargeError(expected=self._limit, got=length)
                raise self.failed
            stop = start + HEADER_SIZE + length
            if stop > end:
                break
            self.frames.append(view[start + HEADER_SIZE : stop].tobytes())
            self.queued += length
            start = stop
            if self._first:
                self._first, self._limit = False, self.max_size
        if start == end:
            self._start = self._end = 0
            if len(buf) > self._size:
                self._resize(self._size)
            return
        self._start, self._end = start, end
        if len(buf) - end >= _MIN_READ:
            return  # room enough for the next read
        # Make room: move the frame in progress to the front and, if it needs more than the
        # buffer holds, grow by what has arrived of it (doubling) or by _GROWTH if that is
        # more, never to the announced length at once: a peer announcing 16 MiB and sending
        # nothing must not cost 16 MiB.  A grown buffer is kept while frames keep it full.
        need = HEADER_SIZE
        arrived = end - start
        if arrived >= HEADER_SIZE:
            need += int.from_bytes(buf[start : start + HEADER_SIZE], "big")
        if start > 0 or need > len(buf):
            self._resize(max(self._size, min(need, max(len(buf), arrived + max(arrived, _GROWTH)))))

    def _resize(self, size: int) -> None:
        """Move the unparsed bytes to the front of a buffer of ``size`` bytes (at least what they need).

        A buffer of another size is a new bytearray rather than a resize: the
        transport may still hold a slice of the old one while we run.
        """
        start, end = self._start, self._end
        if size == len(self._buf):
            self._buf[: end - start] = self._buf[start:end]
        else:
            fresh = bytearray(max(size, end - start + _MIN_READ))
            fresh[: end - start] = self._buf[start:end]
            self._buf = fresh
        self._view = memoryview(self._buf)
        self._start, self._end = 0, end - start

    def pop(self) -> bytes:
        """The oldest complete frame (IndexError if there is none)."""
        frame = self.frames.popleft()
        self.queued -= len(frame)
        return frame

    def eof_error(self) -> TransportError:
        """The error for a stream that ended here: a clean close, or a close mid-frame."""
        pending = self.pending
        if pending == 0:
            return TransportError("peer closed the connection")
        if pending < HEADER_SIZE:
            return TransportError(
                f"peer closed mid-frame: expected a {HEADER_SIZE}-byte length prefix, got {pending} bytes"
            )
        start = self._start
        length = int.from_bytes(self._buf[start : start + HEADER_SIZE], "big")
        return TransportError(f"peer closed mid-frame: expected {length} payload bytes, got {pending - HEADER_SIZE}")
