"""A frame's announced length reserves nothing: memory follows the bytes that actually arrive.

The length prefix is checked against the maximum before anything is read, but a
length under the maximum is still only a promise. A client that announces a frame
of almost 16 MiB and sends nothing must cost the server a receive buffer, not the
16 MiB; one that sends part of it costs at most twice that part, or that part plus
1 MiB (the buffer grows in steps of at least 1 MiB, so large frames take few copies).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.builtin_plugins.ipc.framing import DEFAULT_MAX_FRAME_SIZE, HEADER_SIZE, FrameDecoder

from .raw_client import Client, Server, serve

BUFFER: Final = 64 * 1024
MIN_READ: Final = 4096
GROWTH: Final = 1024 * 1024
ANNOUNCED: Final = DEFAULT_MAX_FRAME_SIZE - 16
CLIENTS: Final = 20


def capacity(decoder: FrameDecoder) -> int:
    """The receive buffer's size from the frame in progress on: its bytes and the room after them."""
    return decoder.pending + len(decoder.buffer())


def test_announcing_a_frame_of_almost_the_maximum_allocates_nothing_for_it() -> None:
    decoder = FrameDecoder(buffer_size=BUFFER)
    decoder.feed(struct.pack(">I", ANNOUNCED))
    assert capacity(decoder) == BUFFER


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=300_000), max_size=12))
def test_the_buffer_holds_at_most_twice_the_bytes_of_a_frame_that_arrived_or_them_plus_1_mib(
    chunks: list[int],
) -> None:
    decoder = FrameDecoder(buffer_size=BUFFER)
    decoder.feed(struct.pack(">I", ANNOUNCED))
    for size in chunks:
        decoder.feed(b"x" * size)
        arrived = decoder.pending
        assert capacity(decoder) <= max(BUFFER, 2 * arrived + MIN_READ, arrived + GROWTH + MIN_READ)
    assert decoder.pending == HEADER_SIZE + sum(chunks) and not decoder.frames


def test_a_frame_of_the_maximum_size_arriving_in_small_reads_is_whole() -> None:
    decoder = FrameDecoder(buffer_size=BUFFER)
    data = struct.pack(">I", DEFAULT_MAX_FRAME_SIZE) + bytes(range(256)) * (DEFAULT_MAX_FRAME_SIZE // 256)
    for start in range(0, len(data), 1 << 20):
        decoder.feed(data[start : start + (1 << 20)])
    assert decoder.pop() == data[HEADER_SIZE:]
    assert capacity(decoder) == BUFFER


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[Server]:
    yield from serve(tmp_path, "bus", "serve")


@pytest.mark.slow
def test_clients_announcing_huge_frames_they_never_send_do_not_grow_the_server(bus: Server) -> None:
    before = bus.settled_rss()
    clients = [Client(bus.addresses["unix"]) for _ in range(CLIENTS)]
    for client in clients:
        client.sock.sendall(struct.pack(">I", ANNOUNCED) + b"x" * 100)
    bus.others()  # a round trip after the announcements: the server has read them by now
    grown = bus.rss - before
    assert grown < CLIENTS * ANNOUNCED // 8, f"the server grew by {grown} bytes for {CLIENTS} announced frames"
    for client in clients:
        client.close()
