"""The worker's end of its link: blocking frame reads and writes on two pipes, no event loop.

A worker serves one request at a time, so a blocking read is all its main
loop needs; the kernel wakes it when the parent writes, and nothing else
turns in between.  The framing is the SDK's (4-byte length, then payload).
"""

from __future__ import annotations

import io
import os

from symphony.hookspecs.wire.framing import DEFAULT_MAX_FRAME_SIZE, FrameDecoder, encode_frame

__all__ = ["Pipe"]


class Pipe:
    """Frames in from ``read_fd``, out to ``write_fd``; :meth:`read` raises EOFError once the parent is gone."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._in = io.FileIO(read_fd, "rb", closefd=False)
        self._out = write_fd
        self._decoder = FrameDecoder(DEFAULT_MAX_FRAME_SIZE)

    def read(self) -> bytes:
        """The next whole frame, waiting for it (FrameTooLargeError for an absurd length)."""
        decoder = self._decoder
        while not decoder.frames:
            count = self._in.readinto(decoder.buffer())
            if not count:
                raise EOFError("the parent closed the worker's input")
            decoder.commit(count)
        return decoder.pop()

    def write(self, payload: bytes) -> None:
        """Send one frame; a large one may take several writes (the parent reads as it goes)."""
        data = encode_frame(payload, DEFAULT_MAX_FRAME_SIZE)
        written = os.write(self._out, data)
        if written < len(data):
            rest = memoryview(data)[written:]
            while rest:
                rest = rest[os.write(self._out, rest) :]
