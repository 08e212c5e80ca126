"""A run's event stream: bounded for a slow client, and complete for one that connects late."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest

from symphony.builtin_plugins.ui.events import EventHub, Stream
from symphony.hookspecs import EventPayload, MessageEnvelope


async def _frames(stream: Stream) -> list[bytes]:
    """Every frame the stream holds now, until it would wait (its run has not ended) or ends.

    The stream writes what it holds in one chunk; the frames are its parts, each ending in a blank line.
    """
    chunks: list[bytes] = []
    frames = stream.frames(ping_every=3600)
    while stream.pending or not chunks:
        chunks.append(await asyncio.wait_for(anext(frames), 5))
        if stream.ended and not stream.pending:
            break
    return [part + b"\n\n" for part in b"".join(chunks).split(b"\n\n") if part]


def test_a_slow_clients_stream_stays_bounded_and_is_told_to_resync() -> None:
    stream = Stream("r1", size=4)
    for attempt in range(1000):
        stream.put("node", {"run_id": "r1", "node": "n", "state": "running", "attempt": attempt})
        assert stream.pending <= 4
    frames = asyncio.run(_frames(stream))
    names = [frame.split(b"\n", 1)[0] for frame in frames]
    assert names[0] == b"event: resync"
    assert len(frames) <= 4


def test_a_stream_opened_after_a_run_started_begins_with_where_its_nodes_stand() -> None:
    hub = EventHub()
    hub.deliver("run.started", {"run_id": "r1", "workflow": "w", "nodes": 2})
    hub.deliver("node.running", {"run_id": "r1", "node": "a", "attempt": 1})
    hub.deliver("node.succeeded", {"run_id": "r1", "node": "a", "attempts": 1})
    hub.deliver("node.running", {"run_id": "r1", "node": "b", "attempt": 1})
    stream = hub.open("r1")
    frames = asyncio.run(_frames(stream))
    shown = [json.loads(frame.split(b"data: ", 1)[1]) for frame in frames]
    assert [(data["node"], data["state"]) for data in shown] == [("a", "succeeded"), ("b", "running")]


def test_a_stream_opened_after_a_run_ended_gets_its_end_and_closes() -> None:
    hub = EventHub()
    hub.deliver("node.running", {"run_id": "r1", "node": "a", "attempt": 1})
    hub.deliver("run.cancelled", {"run_id": "r1", "error": "cancelled"})
    stream = hub.open("r1")
    frames = asyncio.run(_frames(stream))
    assert frames[-1].startswith(b"event: run\n") and b'"status":"cancelled"' in frames[-1]
    assert stream.ended


def test_a_node_events_time_is_when_it_was_published_on_the_bus() -> None:
    hub = EventHub()
    stream = hub.open("r1")
    envelope = MessageEnvelope.create(
        EventPayload(topic="node.running", data={"run_id": "r1", "node": "a", "attempt": 1}), sender="t", recipient="*"
    )
    asyncio.run(hub._on_event(envelope))
    (frame,) = asyncio.run(_frames(stream))
    shown = json.loads(frame.split(b"data: ", 1)[1])
    assert datetime.fromisoformat(shown["at"]).timestamp() == pytest.approx(envelope.header.timestamp, abs=1e-6)


def test_events_queued_for_a_client_are_written_in_one_chunk() -> None:
    stream = Stream("r1")
    for node in ("a", "b", "c"):
        stream.put("node", {"run_id": "r1", "node": node, "state": "running"})

    async def first_chunk() -> bytes:
        return await anext(stream.frames(ping_every=3600))

    chunk = asyncio.run(first_chunk())
    assert chunk.count(b"event: node\n") == 3
    assert stream.pending == 0
