"""FrameProtocol: frames straight from an asyncio transport, without StreamReader/StreamWriter.

This is the hot path of the unix, tcp and stdio transports.  The kernel reads
into the :class:`~.framing.FrameDecoder`'s buffer (``recv_into`` through
``BufferedProtocol``), whole frames are cut out in the same callback, and the
one waiting ``receive`` is woken with a single future; a frame goes out with
one ``transport.write`` of prefix and payload.  Streams would add a second
buffer, two ``readexactly`` calls per frame and a ``drain`` per write.

Flow control both ways: once the transport holds ``output_limit`` bytes
(``pause_writing``) senders wait for ``resume_writing`` *before* writing, so
concurrent senders add at most one frame each beyond the limit, never a
queue; when received but unconsumed frames pass twice ``buffer_size`` the
protocol stops reading until ``receive`` has taken them, so a peer cannot
fill our memory.  With ``stall_timeout`` a peer that drains none of a full
output for that long is disconnected (listeners use it: a client that stops
reading must not hold the server's memory and tasks forever).  Draining is
measured on our buffer plus the kernel's send queue (``TIOCOUTQ``), so a
peer that reads slowly makes progress even while the kernel still holds
what it has not read.

Pipes (stdio) are one-way transports: the read pipe feeds this protocol
through :class:`~.pipes.PipeReadTransport`, and the write pipe's
flow-control events reach it through :class:`WriteSide`.

Request/response traffic polls before it sleeps: a ``receive`` that finds no
frame right after this side sent one reads the socket directly (non-blocking,
yielding the CPU between tries) for up to ``SPIN_NS`` before it waits in the
event loop.  A sleep in ``epoll_wait`` and the wake-up after it cost more than
the whole exchange on a busy machine (two loop iterations, and the scheduler's
wake-up, per message); the poll is what makes an answer that is already on
its way cheap.  It is bounded, it only happens while an answer is due (this
side wrote since the last frame arrived), and a poll that comes up empty is
followed by answers received without polling, twice as many after each
further miss (up to ``MAX_POLL_BACKOFF``), so a slow peer, or one that
needs the very core we would poll on, soon costs nearly nothing.  Plain sockets
and read pipes are polled, never TLS (its bytes are records, not frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import struct
import termios
import time
from typing import Any, Final

from symphony.hookspecs import TransportError

from .framing import DEFAULT_MAX_FRAME_SIZE, FrameDecoder, FrameTooLargeError, encode_frame
from .handshake import MAX_HANDSHAKE_SIZE

__all__ = ["DEFAULT_OUTPUT_LIMIT", "MAX_POLL_BACKOFF", "SPIN_NS", "FrameProtocol", "WriteSide"]

log = logging.getLogger("symphony.ipc.transport")

#: How long ``close`` waits for the transport to finish flushing and report it is gone.
CLOSE_WAIT_S: Final = 1.0
#: Bytes of outgoing frames a connection buffers before its senders wait.
DEFAULT_OUTPUT_LIMIT: Final = 1024 * 1024
#: How long a receive awaiting an answer polls the socket before sleeping in the event loop (ns).
SPIN_NS: Final = 50_000
#: After consecutive empty polls, at most this many answers are awaited without polling before the next try.
MAX_POLL_BACKOFF: Final = 1024
_now = time.perf_counter_ns


class FrameProtocol(asyncio.BufferedProtocol):
    """One framed byte stream: ``send``/``receive`` whole frames, ``close``; see the module docstring.

    The first frame received is held to ``handshake_limit`` (it is the
    handshake; None: no separate limit), later ones to ``max_frame_size``.
    An oversized length prefix makes ``receive`` raise FrameTooLargeError
    from then on (reading stops: the frame boundary is lost).  End of stream or a lost connection
    makes it raise TransportError once the frames received before it are
    taken.  One reader at a time; any number of concurrent senders.
    """

    def __init__(
        self,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        buffer_size: int = 64 * 1024,
        handshake_limit: int | None = MAX_HANDSHAKE_SIZE,
        pause_on_connect: bool = False,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        stall_timeout: float | None = None,
    ) -> None:
        self.max_frame_size = max_frame_size
        self.transport: asyncio.BaseTransport | None = None
        self._decoder = FrameDecoder(max_frame_size, buffer_size=buffer_size, first_limit=handshake_limit)
        self._high_water = 2 * max(buffer_size, 1)
        self._out: Any = None  # the WriteTransport frames go to (the socket, or the write pipe)
        self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._gone = self._loop.create_future()
        self._ended = self._loop.create_future()
        self._pause_on_connect = pause_on_connect
        self._reading_paused = False
        self._writing_paused = False
        self._keep_open_on_eof = True
        self._eof = False
        self._lost = False
        self._lost_error: BaseException | None = None
        self._write_error: BaseException | None = None
        self._closed = False
        self._output_limit = output_limit
        self._stall_timeout = stall_timeout
        self._stall_timer: asyncio.TimerHandle | None = None
        self._poll_fd = -1  # the plain socket's or read pipe's descriptor, polled for due answers (-1: never)
        self._due = False  # a frame was written and none has arrived since: an answer is due
        self._skip = 0  # answers still to await without polling, after an empty poll
        self._backoff = 0  # the skip set after the next empty poll (doubles per consecutive miss)

    # --- asyncio callbacks ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Remember the transport; ``pause_on_connect`` holds reading until a TLS upgrade takes over."""
        if self._pause_on_connect:
            transport.pause_reading()  # type: ignore[attr-defined]
        self.use_transport(transport)

    def use_transport(self, transport: asyncio.BaseTransport) -> None:
        """Read from (and, unless it is a read pipe, write to) ``transport``; also after ``start_tls``."""
        self.transport = transport
        if isinstance(transport, asyncio.WriteTransport):
            self.use_writer(transport)
        # asyncio's TLS layer cannot half-close, and says so in a warning if asked to.
        self._keep_open_on_eof = transport.get_extra_info("sslcontext") is None
        # What carries our frames and nothing else: the socket, or the read pipe (a stdio child's, a worker's).
        source = transport.get_extra_info("socket" if isinstance(transport, asyncio.WriteTransport) else "pipe")
        self._poll_fd = source.fileno() if source is not None and self._keep_open_on_eof else -1

    def use_writer(self, transport: asyncio.WriteTransport) -> None:
        """Send frames to ``transport`` (a write pipe, or the socket itself)."""
        self._out = transport
        transport.set_write_buffer_limits(high=self._output_limit)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._decoder.buffer()

    def buffer_updated(self, nbytes: int) -> None:
        """Cut the new frames and wake the waiting ``receive``; stop reading on overflow or overload."""
        try:
            self._decoder.commit(nbytes)
        except FrameTooLargeError:
            self._stop_reading()
        self._due = False
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        if self._decoder.queued > self._high_water and not self._reading_paused:
            self._stop_reading()

    def _stop_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and not self._lost:
            self._reading_paused = True
            with contextlib.suppress(RuntimeError, AttributeError):
                self.transport.pause_reading()  # type: ignore[attr-defined]

    def eof_received(self) -> bool:
        self._eof = True
        self._end()
        self._wake_reader()
        return self._keep_open_on_eof

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._lost_error = exc or self._lost_error
        self._cancel_stall_timer()
        self._wake_reader()
        self._wake_drainers()
        self._end()
        if not self._gone.done():
            self._gone.set_result(None)

    def _end(self) -> None:
        if not self._ended.done():
            self._ended.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True
        if self._stall_timeout is not None and self._stall_timer is None and self._out is not None:
            self._arm_stall_timer(self._unread())

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._cancel_stall_timer()
        self._wake_drainers()

    def _arm_stall_timer(self, size: int) -> None:
        assert self._stall_timeout is not None
        self._stall_timer = self._loop.call_later(self._stall_timeout, self._check_stall, size)

    def _cancel_stall_timer(self) -> None:
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None

    def _unread(self) -> int:
        """Bytes written and not yet taken by the peer: our buffer plus the socket's send queue."""
        out = self._out
        if out is None:
            return 0
        size = int(out.get_write_buffer_size())
        sock = out.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, ValueError):
                (queued,) = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))
                size += queued
        return size

    def _check_stall(self, size_then: int) -> None:
        """Still full: disconnect a peer that drained nothing since the last check, else look again later."""
        self._stall_timer = None
        out = self._out
        if not self._writing_paused or out is None or self._lost or self._closed:
            return
        size = self._unread()
        if size < size_then:
            self._arm_stall_timer(size)
            return
        reason = f"the peer read nothing for {self._stall_timeout} s while {size} bytes waited for it"
        log.warning("disconnecting a stalled peer: %s", reason)
        self._lost_error = TransportError(reason)
        out.abort()
        if self.transport is not None and self.transport is not out:
            self.transport.abort()  # type: ignore[attr-defined]

    def write_side_lost(self, exc: Exception | None) -> None:
        """The write pipe closed (the child exited or closed its stdin): senders fail from now on."""
        self._write_error = exc or BrokenPipeError("the write pipe closed")
        self._out = None
        self._wake_drainers()

    def _wake_reader(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _wake_drainers(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # --- the frame API ---

    @property
    def buffered(self) -> int:
        """Payload bytes received and cut into frames but not yet taken by ``receive``."""
        return self._decoder.queued

    @property
    def reading(self) -> bool:
        """False while reading is paused (the consumer fell behind, or an oversized frame stopped it)."""
        return not self._reading_paused

    @property
    def ended(self) -> asyncio.Future[None]:
        """Done once the peer has sent its last byte (end of stream) or the connection is lost."""
        return self._ended

    @property
    def output_size(self) -> int:
        """Bytes of frames written but not yet taken by the kernel."""
        return 0 if self._out is None else int(self._out.get_write_buffer_size())

    @property
    def writable(self) -> bool:
        """True while the output is below its limit: a frame may be written now without waiting."""
        return not self._writing_paused

    async def send(self, frame: bytes) -> None:
        """Write one frame (one ``write`` call, so concurrent senders never interleave).

        Waits while the output is full, before writing (so the buffer exceeds
        ``output_limit`` by at most one frame whatever the number of senders)
        and after (so a sender is held until the peer took most of its frame).
        """
        data = encode_frame(frame, self.max_frame_size)
        if self._writing_paused:
            await self.drained()
        self._write(data)
        if self._writing_paused:
            await self.drained()

    def offer(self, frame: bytes) -> bool:
        """Write one frame unless the output is full (then False: nothing was written); never waits."""
        if self._writing_paused:
            return False
        self._write(encode_frame(frame, self.max_frame_size))
        return True

    def _write(self, data: bytes) -> None:
        out = self._out
        if self._closed or self._lost or out is None:
            raise self._send_error()
        out.write(data)
        self._due = True

    async def drained(self) -> None:
        """Wait while the output is full (TransportError if the connection goes meanwhile)."""
        while self._writing_paused:
            if self._closed or self._lost or self._out is None:
                raise self._send_error()
            waiter = self._loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter

    def _send_error(self) -> TransportError:
        if self._closed:
            return TransportError("connection is closed")
        error = self._write_error or self._lost_error
        if error is not None:
            return TransportError(f"connection lost while writing a frame: {error}")
        return TransportError("peer closed the connection")

    async def receive(self) -> bytes:
        """The next whole frame; see the class docstring for the errors."""
        while (frame := self.next_frame()) is None:
            await self.readable()
        return frame

    def next_frame(self) -> bytes | None:
        """The next whole frame if one has arrived, else None (then await :meth:`readable`).

        Never awaits; while an answer is due it polls for it (at most ``SPIN_NS``,
        see the module docstring).  Raises what ``receive`` raises once no frame
        is left to take.
        """
        decoder = self._decoder
        if decoder.frames:
            frame = decoder.pop()
            if self._reading_paused and decoder.failed is None and decoder.queued <= self._high_water // 2:
                self._reading_paused = False
                assert self.transport is not None
                if not self._lost:
                    self.transport.resume_reading()  # type: ignore[attr-defined]
            return frame
        if decoder.failed is not None:
            raise decoder.failed
        if self._closed:
            raise TransportError("connection is closed")
        if self._lost and self._lost_error is not None and not self._eof:
            raise TransportError(f"connection lost while reading a frame: {self._lost_error}")
        if self._eof or self._lost:
            raise decoder.eof_error()
        if self._due and self._poll_fd >= 0 and not self._reading_paused:
            if not self._skip:
                return self._poll()
            self._skip -= 1
        return None

    def _poll(self) -> bytes | None:
        """Read the socket directly until a whole frame is in, for at most SPIN_NS; None if none came.

        What the transport would do on readiness, ahead of it: the bytes go into
        the same buffer through ``buffer_updated``.  End of stream is left for the
        transport to find (a read at the end returns nothing again); an error
        ends the connection the way the transport's own read would.
        """
        decoder, fd = self._decoder, self._poll_fd
        deadline = _now() + SPIN_NS
        while True:
            try:
                count = os.readv(fd, [decoder.buffer()])
            except (BlockingIOError, InterruptedError):
                if _now() > deadline:  # the peer is slower than the bound, or waits for this very core
                    self._backoff = min(2 * self._backoff or 1, MAX_POLL_BACKOFF)
                    self._skip = self._backoff
                    return None
                os.sched_yield()  # let the peer (or anyone) have this core meanwhile
                continue
            except OSError as error:
                self._lost_error = error
                transport: Any = self.transport
                if transport is not None:  # a socket transport aborts; a read pipe only closes
                    (getattr(transport, "abort", None) or transport.close)()
                return None
            if count == 0:
                return None
            self.buffer_updated(count)
            if decoder.frames or decoder.failed is not None:
                self._backoff = 0
                return self.next_frame()

    def readable(self) -> asyncio.Future[None]:
        """A future done once :meth:`next_frame` may have something new to say (a frame, an end, a close).

        A future rather than a coroutine, so the one reader awaits it straight
        from its own frame (the hot path: no coroutine in between).
        """
        waiter = self._loop.create_future()
        self._waiter = waiter
        return waiter

    def close_now(self) -> None:
        """Start closing without waiting: buffered frames are still flushed by the transport."""
        if self._closed:
            return
        self._closed = True
        self._cancel_stall_timer()
        if self.transport is not None:
            self.transport.close()
        if self._out is not None and self._out is not self.transport:
            self._out.close()
        self._wake_reader()
        self._wake_drainers()

    async def close(self) -> None:
        """Close, flushing what was sent, and wait (briefly) until the transport is gone."""
        self.close_now()
        if self.transport is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._gone), CLOSE_WAIT_S)

    def detach_socket(self) -> socket.socket:
        """A duplicate of the connected socket, taken over from asyncio (used to upgrade to shm).

        Reading stops first, so no byte meant for the new owner is consumed here.
        """
        assert self.transport is not None
        raw: Any = self.transport.get_extra_info("socket")
        if raw is None:
            raise TransportError("this connection has no socket to detach")
        sock: socket.socket = raw.dup()
        with contextlib.suppress(RuntimeError, AttributeError):
            self.transport.pause_reading()  # type: ignore[attr-defined]
        self.close_now()
        return sock


class WriteSide(asyncio.Protocol):
    """The protocol of a write pipe: relays its flow control and its end to the FrameProtocol."""

    def __init__(self, frames: FrameProtocol) -> None:
        self._frames = frames

    def pause_writing(self) -> None:
        self._frames.pause_writing()

    def resume_writing(self) -> None:
        self._frames.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._frames.write_side_lost(exc)
