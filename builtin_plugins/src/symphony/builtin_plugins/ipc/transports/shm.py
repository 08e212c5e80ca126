"""Shared-memory transport: two ring buffers for the hot path between local processes.

Setup runs over a Unix socket (the ``unix`` transport: owner-only socket file,
``SO_PEERCRED`` check, the usual version/codec handshake).  The server then
creates two ``multiprocessing.shared_memory`` blocks, one ring per direction,
and sends their names in a JSON frame; the client attaches and acknowledges,
and the server unlinks both names at once (the mappings stay valid), so no
``/dev/shm`` entry survives even a crash.  From then on frames travel through
the rings and the Unix socket carries only one-byte doorbells: it wakes a
sleeping side, and its end-of-file tells a side that its peer died.

Each ring is single-producer/single-consumer.  The consumer spins briefly
(``spin_us``) when its ring is empty, then sets a ``sleeping`` flag in shared
memory and blocks on the socket; the producer rings the doorbell only when it
sees that flag, so a busy link makes no system call per message and an idle
one uses no CPU.  See docs/wire-format.md, section 7, for the layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
import time
from collections.abc import Mapping
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from typing import Any, Final

import msgspec

from symphony.hookspecs import MessageEnvelope, SerializationError, TransportError
from symphony.hookspecs.wire.codecs import DECODERS, ENCODERS
from symphony.hookspecs.wire.framing import FrameTooLargeError

from ._streams import (
    EnvelopeFrames,
    StreamConnection,
    StreamListener,
    TransportConfig,
    load_config,
)
from .unix import UnixTransport

__all__ = ["DEFAULT_RING_CAPACITY", "DEFAULT_SPIN_US", "Ring", "ShmConnection", "ShmListener", "ShmTransport"]

log = logging.getLogger("symphony.ipc.transport.shm")

#: Bytes of frame data per ring (per direction).
DEFAULT_RING_CAPACITY: Final = 1024 * 1024
#: How long an empty-ring reader (or a full-ring writer) polls before it blocks.
DEFAULT_SPIN_US: Final = 50.0
#: Safety net: a sleeping side re-checks its ring this often even without a doorbell.
RECHECK_S: Final = 0.05

# Ring header: 8-byte native unsigned counters, each index on its own cache line.
HEAD: Final = 0  # bytes consumed so far (written by the consumer only)
TAIL: Final = 64  # bytes published so far (written by the producer only)
CONSUMER_SLEEPING: Final = 128  # 1 while the consumer is (about to be) blocked on the doorbell
PRODUCER_WAITING: Final = 136  # 1 while the producer is (about to be) blocked waiting for space
CLOSED: Final = 144  # 1 once the producer closed its end
CAPACITY: Final = 152  # data bytes in the ring
DATA: Final = 192  # frame data starts here
_LEN: Final = struct.Struct(">I")
#: The counters' indexes in the native "Q" view.
_HEAD: Final = HEAD >> 3
_TAIL: Final = TAIL >> 3
_SLEEPING: Final = CONSUMER_SLEEPING >> 3
_WAITING: Final = PRODUCER_WAITING >> 3
_BELL: Final = b"\x01"

_setup_encoder: Final = msgspec.json.Encoder()
#: Called on each spin iteration: lets the peer run if both share one core (cheap when it does not).
_yield: Final = getattr(os, "sched_yield", lambda: None)
#: Blocks this process created: the resource tracker (one per process) already tracks them.
_CREATED: set[str] = set()


class _Offer(msgspec.Struct, frozen=True, kw_only=True):
    """Server -> client after the handshake: where the rings are."""

    shm_c2s: str
    shm_s2c: str
    capacity: int


class _Ack(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Client -> server: attached (``ok``) or why not.  Server -> client: names unlinked (``ok``)."""

    ok: bool = False
    error: str | None = None


def _decode_ack(frame: bytes, what: str) -> _Ack:
    try:
        return msgspec.json.decode(frame, type=_Ack)
    except msgspec.DecodeError as error:
        raise SerializationError(f"malformed shared-memory {what}: {error}") from None


class Ring:
    """One direction's ring over a shared block; a process is either its producer or its consumer."""

    def __init__(self, shm: SharedMemory) -> None:
        self.shm = shm
        buf = shm.buf
        assert buf is not None
        self.buf: memoryview = buf
        # The counters go through a native "Q" view: one aligned 8-byte load or store each.
        # (struct.pack_into/unpack_from were measured to tear 8-byte values across processes.)
        self.counters = buf[:DATA].cast("Q")
        self.capacity: int = self.counters[CAPACITY >> 3]
        if self.capacity <= _LEN.size or DATA + self.capacity > len(self.buf):
            self.counters.release()
            raise TransportError(f"shared block {shm.name} has an invalid ring capacity {self.capacity}")
        self.head: int = self.counters[HEAD >> 3]
        self.tail: int = self.counters[TAIL >> 3]

    @staticmethod
    def create(capacity: int) -> Ring:
        shm = SharedMemory(create=True, size=DATA + capacity)  # random name, mode 0o600 (shm_open)
        _CREATED.add(shm.name)
        buf = shm.buf
        assert buf is not None
        buf[:DATA] = bytes(DATA)
        with buf[:DATA].cast("Q") as counters:
            counters[CAPACITY >> 3] = capacity
        return Ring(shm)

    @staticmethod
    def attach(name: str) -> Ring:
        shm = SharedMemory(name=name)
        # Python 3.11 registers attached blocks with the resource tracker, which would unlink
        # (and warn about) a block it does not own at exit; the creator owns it.
        if shm.name not in _CREATED:
            with contextlib.suppress(Exception):
                resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
        return Ring(shm)

    def get(self, offset: int) -> int:
        value: int = self.counters[offset >> 3]
        return value

    def put(self, offset: int, value: int) -> None:
        self.counters[offset >> 3] = value

    # --- producer side ---

    def free(self) -> int:
        free: int = self.capacity - (self.tail - self.counters[_HEAD])
        return free

    def put_frame(self, frame: bytes) -> None:
        """Copy the length prefix and ``frame`` (which fit in ``free()``), then publish the tail.

        The usual frame does not wrap: the prefix is packed and the payload copied straight
        into the ring, with no intermediate bytes object.
        """
        size = len(frame)
        need = _LEN.size + size
        start = self.tail % self.capacity
        if start + need <= self.capacity:
            at = DATA + start
            _LEN.pack_into(self.buf, at, size)
            self.buf[at + _LEN.size : at + need] = frame
        else:
            self._copy_in(start, _LEN.pack(size) + frame)
        self.tail += need
        self.counters[_TAIL] = self.tail  # publish after the payload: the consumer never sees a partial frame

    def _copy_in(self, start: int, data: bytes) -> None:
        first = min(len(data), self.capacity - start)
        self.buf[DATA + start : DATA + start + first] = data[:first]
        if first < len(data):
            self.buf[DATA : DATA + len(data) - first] = data[first:]

    # --- consumer side ---

    def available(self) -> int:
        available: int = self.counters[_TAIL] - self.head
        return available

    def peek_length(self) -> int:
        """The length prefix of the next frame (the ring holds at least the prefix)."""
        start = self.head % self.capacity
        if start + _LEN.size <= self.capacity:
            length: int = _LEN.unpack_from(self.buf, DATA + start)[0]
            return length
        (length,) = _LEN.unpack(self.read(_LEN.size))
        return length

    def read(self, count: int, skip: int = 0) -> bytes:
        start = (self.head + skip) % self.capacity
        if start + count <= self.capacity:
            return self.buf[DATA + start : DATA + start + count].tobytes()
        first = self.capacity - start
        return self.buf[DATA + start : DATA + self.capacity].tobytes() + self.buf[DATA : DATA + count - first].tobytes()

    def consume(self, count: int) -> None:
        self.head += count
        self.counters[_HEAD] = self.head

    def close(self) -> None:
        self.counters.release()
        del self.buf
        with contextlib.suppress(BufferError):
            self.shm.close()

    def unlink(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.shm.unlink()
        _CREATED.discard(self.shm.name)


class ShmConnection(EnvelopeFrames):
    """A Connection over two rings, with the setup Unix socket as doorbell; same API as StreamConnection.

    One sender and one receiver at a time (each ring is single-producer,
    single-consumer).  ``send`` raises FrameTooLargeError (a SerializationError,
    ``expected``/``got``) for a frame that cannot fit in the ring; the
    connection stays usable.  Once the peer is gone (doorbell end-of-file, or
    its ``closed`` flag) and the incoming ring is drained, ``receive`` raises
    TransportError.
    """

    def __init__(
        self,
        tx: Ring,
        rx: Ring,
        bell: socket.socket,
        *,
        codec: str,
        peer: str,
        max_frame_size: int,
        spin_us: float = DEFAULT_SPIN_US,
    ) -> None:
        self.codec = codec
        self.peer = peer
        self.max_frame_size = min(max_frame_size, tx.capacity - _LEN.size)
        self.spin_ns = int(spin_us * 1000)
        self.broken = False
        self._tx = tx
        self._rx = rx
        self._bell = bell
        self._encode = ENCODERS[codec]
        self._decode = DECODERS[codec]
        self._closed = False
        self._peer_gone = False
        self._loop = asyncio.get_running_loop()
        self._waiters: list[asyncio.Future[None]] = []
        bell.setblocking(False)
        self._loop.add_reader(bell.fileno(), self._on_bell)

    @property
    def closed(self) -> bool:
        return self._closed

    # --- doorbell ---

    def _on_bell(self) -> None:
        try:
            data = self._bell.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._peer_gone = True
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self._bell.fileno())
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _ring_bell(self) -> None:
        try:
            self._bell.send(_BELL)
        except (BlockingIOError, InterruptedError):
            pass  # the socket buffer holds unread doorbells already: the peer will wake
        except OSError:
            self._peer_gone = True

    async def _sleep(self) -> None:
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        timer = self._loop.call_later(RECHECK_S, self._wake)
        try:
            await waiter
        finally:
            timer.cancel()

    def _check_open(self) -> None:
        if self._closed or self.broken:
            raise TransportError(f"connection to {self.peer} is closed")

    # --- frames ---

    def _send_now(self, frame: bytes) -> bool:
        """Write ``frame`` if the ring has room for it now; False (nothing written) if it has not."""
        self._check_open()
        size = len(frame)
        if size > self.max_frame_size:
            raise FrameTooLargeError(expected=self.max_frame_size, got=size)
        if self._tx.free() < _LEN.size + size:
            return False
        self._write(frame)
        return True

    def _write(self, frame: bytes) -> None:
        if self._peer_gone:
            raise TransportError(f"peer {self.peer} went away")
        tx = self._tx
        tx.put_frame(frame)
        if tx.counters[_SLEEPING]:
            tx.put(CONSUMER_SLEEPING, 0)
            self._ring_bell()

    async def send(self, frame: bytes) -> None:
        if not self._send_now(frame):
            await self._wait_for_space(_LEN.size + len(frame))
            self._write(frame)

    async def send_envelope(self, envelope: MessageEnvelope) -> None:
        # send() inlined: no coroutine of its own while the ring has room (the hot path).
        frame = self._encode(envelope)
        if not self._send_now(frame):
            await self._wait_for_space(_LEN.size + len(frame))
            self._write(frame)

    async def _wait_for_space(self, need: int) -> None:
        tx = self._tx
        deadline = time.perf_counter_ns() + self.spin_ns
        while tx.free() < need and time.perf_counter_ns() < deadline:
            _yield()
        while tx.free() < need:
            if self._peer_gone or tx.get(CLOSED):
                raise TransportError(f"peer {self.peer} went away")
            tx.put(PRODUCER_WAITING, 1)
            if tx.free() >= need:
                break
            await self._sleep()
            self._check_open()
        tx.put(PRODUCER_WAITING, 0)

    async def receive(self) -> bytes:
        """The next whole frame; TransportError once the peer is gone and the ring is drained."""
        self._check_open()
        if self._rx.available() == 0 and not self._spin_for_data():
            await self._wait_for_data()
        return self._take()

    async def receive_envelope(self) -> MessageEnvelope:
        # receive() inlined: no coroutine of its own when a frame is waiting (the hot path).
        self._check_open()
        if self._rx.available() == 0 and not self._spin_for_data():
            await self._wait_for_data()
        return self.decode_envelope(self._take())

    def _take(self) -> bytes:
        """The frame at the head of the ring (which holds at least its prefix), consumed."""
        rx = self._rx
        length = rx.peek_length()
        if length > rx.capacity - _LEN.size or length > rx.available() - _LEN.size:
            self.broken = True
            raise TransportError(f"corrupt shared-memory ring from {self.peer}: frame length {length}")
        if length > self.max_frame_size:
            rx.consume(_LEN.size + length)  # the boundary is intact: skip it, stay usable
            self._after_consume()
            raise FrameTooLargeError(expected=self.max_frame_size, got=length)
        frame = rx.read(length, skip=_LEN.size)
        rx.consume(_LEN.size + length)
        if rx.counters[_WAITING]:
            self._after_consume()
        return frame

    def _after_consume(self) -> None:
        rx = self._rx
        if rx.get(PRODUCER_WAITING):
            rx.put(PRODUCER_WAITING, 0)
            self._ring_bell()

    def _spin_for_data(self) -> bool:
        """Poll the empty ring for up to ``spin_us``; True once a frame is published.

        Synchronous, so a reply that comes within the spin costs no coroutine, and it
        writes nothing to the shared header while it polls.
        """
        rx = self._rx
        counters, head = rx.counters, rx.head
        clock = time.perf_counter_ns
        deadline = clock() + self.spin_ns
        while counters[_TAIL] == head:
            if clock() >= deadline:
                return False
            _yield()
        return True

    async def _wait_for_data(self) -> None:
        """Sleep on the doorbell until the ring has data (the spin found none)."""
        rx = self._rx
        while rx.available() == 0:
            if self._peer_gone or rx.get(CLOSED):
                raise TransportError(f"peer {self.peer} closed the connection")
            rx.put(CONSUMER_SLEEPING, 1)
            if rx.available():  # published between our check and the flag: do not sleep
                break
            try:
                await self._sleep()
            finally:
                if not self._closed:
                    rx.put(CONSUMER_SLEEPING, 0)
            self._check_open()
        rx.put(CONSUMER_SLEEPING, 0)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._tx.put(CLOSED, 1)
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self._bell.fileno())
        with contextlib.suppress(OSError):
            self._bell.send(_BELL)
        self._bell.close()
        self._wake()
        self._tx.close()
        self._rx.close()

    def __repr__(self) -> str:
        return f"<ShmConnection {self.peer} codec={self.codec}>"


def _detach_socket(stream: StreamConnection) -> socket.socket:
    """A plain socket for the stream's connection (a dup), closing the asyncio transport."""
    return stream.detach_socket()


class ShmListener:
    """Accepts clients on the Unix socket ``address`` and gives each a pair of rings; the Listener port."""

    def __init__(self, inner: StreamListener, capacity: int, spin_us: float) -> None:
        self.address = inner.address
        self.refusals = inner.refusals
        self._inner = inner
        self._capacity = capacity
        self._spin_us = spin_us

    async def accept(self) -> ShmConnection:
        while True:
            stream = await self._inner.accept()
            try:
                return await asyncio.wait_for(self._upgrade(stream), self._inner.config.timeout)
            except (TransportError, SerializationError, TimeoutError, OSError) as error:
                log.warning("shared-memory setup with %s failed: %s", stream.peer, error)
                await stream.close()

    async def _upgrade(self, stream: StreamConnection) -> ShmConnection:
        c2s = Ring.create(self._capacity)
        try:
            s2c = Ring.create(self._capacity)
        except BaseException:
            c2s.unlink()
            c2s.close()
            raise
        try:
            offer = _Offer(shm_c2s=c2s.shm.name, shm_s2c=s2c.shm.name, capacity=self._capacity)
            await stream.send(_setup_encoder.encode(offer))
            ack = _decode_ack(await stream.receive(), "acknowledgement")
            if not ack.ok:
                raise TransportError(f"client could not attach the shared memory: {ack.error}")
        except BaseException:
            for ring in (c2s, s2c):
                ring.unlink()
                ring.close()
            raise
        for ring in (c2s, s2c):
            ring.unlink()  # both sides have it mapped; the name is no longer needed
        try:
            await stream.send(_setup_encoder.encode(_Ack(ok=True)))
        except BaseException:
            c2s.close()
            s2c.close()
            raise
        bell = _detach_socket(stream)
        return ShmConnection(
            s2c,
            c2s,
            bell,
            codec=stream.codec,
            peer=stream.peer,
            max_frame_size=self._inner.config.max_frame_size,
            spin_us=self._spin_us,
        )

    async def close(self) -> None:
        await self._inner.close()

    async def __aenter__(self) -> ShmListener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class ShmTransport:
    """The Transport port over shared-memory rings; ``address`` is the Unix socket path used for setup.

    Besides the TransportConfig keys, the settings mapping may hold
    ``ring_capacity`` (bytes per direction, decided by the server) and
    ``spin_us`` (how long to poll before blocking).
    """

    scheme: Final = "shm"

    def __init__(
        self,
        config: TransportConfig | Mapping[str, Any] | None = None,
        *,
        ring_capacity: int = DEFAULT_RING_CAPACITY,
        spin_us: float = DEFAULT_SPIN_US,
    ) -> None:
        if isinstance(config, Mapping):
            settings = dict(config)
            ring_capacity = int(settings.pop("ring_capacity", ring_capacity))
            spin_us = float(settings.pop("spin_us", spin_us))
            config = settings
        if ring_capacity <= _LEN.size:
            raise TransportError(f"ring_capacity must exceed {_LEN.size} bytes, got {ring_capacity}")
        self.config = load_config(config)
        self.ring_capacity = ring_capacity
        self.spin_us = spin_us
        self._unix = UnixTransport(self.config)

    async def connect(self, address: str) -> ShmConnection:
        stream = await self._unix.connect(address)
        try:
            return await asyncio.wait_for(self._attach(stream), self.config.timeout)
        except BaseException:
            await stream.close()
            raise

    async def _attach(self, stream: StreamConnection) -> ShmConnection:
        try:
            offer = msgspec.json.decode(await stream.receive(), type=_Offer)
        except msgspec.DecodeError as error:
            raise SerializationError(f"malformed shared-memory offer: {error}") from None
        attached: list[Ring] = []
        try:
            for name in (offer.shm_c2s, offer.shm_s2c):
                attached.append(Ring.attach(name))
        except (OSError, ValueError, TransportError) as error:
            for ring in attached:
                ring.close()
            await stream.send(_setup_encoder.encode(_Ack(error=str(error))))
            raise TransportError(f"cannot attach the shared memory offered by {stream.peer}: {error}") from None
        c2s, s2c = attached
        try:
            await stream.send(_setup_encoder.encode(_Ack(ok=True)))
            if not _decode_ack(await stream.receive(), "confirmation").ok:
                raise TransportError(f"{stream.peer} did not confirm the shared-memory setup")
        except BaseException:
            c2s.close()
            s2c.close()
            raise
        bell = _detach_socket(stream)
        return ShmConnection(
            c2s,
            s2c,
            bell,
            codec=stream.codec,
            peer=stream.peer,
            max_frame_size=self.config.max_frame_size,
            spin_us=self.spin_us,
        )

    async def listen(self, address: str) -> ShmListener:
        inner = await self._unix.listen(address)
        return ShmListener(inner, self.ring_capacity, self.spin_us)
