"""Run and node events from the message bus, fanned out to Server-Sent Event streams.

The hub subscribes once to ``run.>`` and ``node.>``; each stream has its own
bounded queue.  The hub remembers each live run's latest event per node (and
how the last runs ended), so a stream opened after a run started begins with
where it stands, and one opened after it ended gets its end at once.  A client
too slow to keep up never grows the server's memory: when its queue is full it
is emptied and a ``resync`` marker takes its place, telling the page to fetch
the run again (GET ``runs/{run_id}``).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from symphony.hookspecs import EventPayload, MessageEnvelope
from symphony.hookspecs.ports import MessageBus, Subscription

__all__ = ["FINAL_STATES", "EventHub", "Stream", "iso"]

#: Events a stream holds for its client at most before it is told to resync instead.
QUEUE_SIZE: Final = 1024
#: Seconds between keep-alive comments on an idle stream.
PING_EVERY: Final = 15.0
#: Runs whose state the hub remembers at most (live ones, and ended ones apart), the oldest forgotten first.
MAX_RUNS: Final = 1000
#: Run states after which nothing more happens.
FINAL_STATES: Final = frozenset({"succeeded", "failed", "cancelled"})


def iso(at: float | None) -> str | None:
    """A Unix time as ISO 8601 in UTC, or None."""
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def shown(topic: str, data: dict[str, Any], published: float | None = None) -> tuple[str, dict[str, Any]] | None:
    """A bus event as the SSE event name and data the page reads; None for events the page does not show.

    Its ``at`` is when it was published on the bus (``published``, its envelope's time), else now.
    """
    at = _now() if published is None else iso(published)
    family, _, state = topic.partition(".")
    run_id = data.get("run_id")
    if not isinstance(run_id, str) or not state:
        return None
    if family == "run":
        return "run", {"run_id": run_id, "status": state, "at": at, "error": data.get("error")}
    node = data.get("node")
    if not isinstance(node, str):
        return None
    event: dict[str, Any] = {"run_id": run_id, "node": node, "state": state, "at": at}
    attempt = data.get("attempt", data.get("attempts"))
    if attempt is not None:
        event["attempt"] = attempt
    if state == "cached":
        event["cache_hit"] = True
    if state == "waiting":
        event["waiting_reason"] = data.get("message") or data.get("reason")
    if state == "failed":
        event["error"] = data.get("message")
    return "node", event


def frame(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + msgspec.json.encode(data) + b"\n\n"


class Stream:
    """One client's events of one run, at most ``QUEUE_SIZE`` of them waiting."""

    def __init__(self, run_id: str, size: int = QUEUE_SIZE) -> None:
        self.run_id = run_id
        self._size = size
        self._queue: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self.ended = False

    def put(self, name: str, data: dict[str, Any]) -> None:
        if len(self._queue) >= self._size:
            self._queue.clear()
            self._queue.append(frame("resync", {"run_id": self.run_id, "at": _now()}))
        else:
            self._queue.append(frame(name, data))
        if name == "run" and data["status"] in FINAL_STATES:
            self.ended = True
        self._ready.set()

    def end(self) -> None:
        """Finish the stream after what it holds (the console is stopping)."""
        self.ended = True
        self._ready.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def frames(self, ping_every: float = PING_EVERY) -> AsyncIterator[bytes]:
        """The frames as they come, a ping comment when idle; ends after the run's final event.

        The frames queued since the client's last write go in one chunk: one socket write per loop turn, however
        many events a busy run published meanwhile, rather than one write (and drain) each.
        """
        while True:
            while self._queue:  # until empty: more may come while a chunk is written
                chunk = b"".join(self._queue)
                self._queue.clear()
                yield chunk
            if self.ended:
                return
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), ping_every)
            except TimeoutError:
                yield b": ping\n\n"


class EventHub:
    """The bus subscription feeding every open stream, by run id, and what each live run's nodes last did."""

    def __init__(self) -> None:
        self._streams: dict[str, set[Stream]] = {}
        self._subscriptions: list[Subscription] = []
        self._live: OrderedDict[str, dict[str, dict[str, Any]]] = OrderedDict()
        self._ended: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def start(self, bus: MessageBus) -> None:
        self._subscriptions = [bus.subscribe(pattern, self._on_event) for pattern in ("run.>", "node.>")]

    def stop(self) -> None:
        for subscription in self._subscriptions:
            subscription.cancel()
        self._subscriptions = []

    async def _on_event(self, envelope: MessageEnvelope) -> None:
        payload = envelope.payload
        if isinstance(payload, EventPayload):
            self.deliver(payload.topic, payload.data, envelope.header.timestamp)

    def deliver(self, topic: str, data: dict[str, Any], published: float | None = None) -> None:
        event = shown(topic, data, published)
        if event is None:
            return
        name, shown_data = event
        self._remember(name, shown_data)
        for stream in self._streams.get(shown_data["run_id"], ()):
            stream.put(name, shown_data)

    def _remember(self, name: str, data: dict[str, Any]) -> None:
        run_id = data["run_id"]
        if name == "node":
            nodes = self._live.setdefault(run_id, {})
            nodes[data["node"]] = data
        elif data["status"] in FINAL_STATES:
            self._live.pop(run_id, None)
            self._ended[run_id] = data
            while len(self._ended) > MAX_RUNS:
                self._ended.popitem(last=False)
            return
        else:
            self._live.setdefault(run_id, {})
        self._live.move_to_end(run_id)
        while len(self._live) > MAX_RUNS:
            self._live.popitem(last=False)

    def latest(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The latest event of each node of a live run, by node (empty once it has ended, or if unseen)."""
        return dict(self._live.get(run_id, {}))

    def open(self, run_id: str) -> Stream:
        """A stream of ``run_id``'s events, starting with its nodes' latest (or its end, when it has ended)."""
        stream = Stream(run_id)
        for data in self._live.get(run_id, {}).values():
            stream.put("node", data)
        ended = self._ended.get(run_id)
        if ended is not None:
            stream.put("run", ended)
        self._streams.setdefault(run_id, set()).add(stream)
        return stream

    def end_all(self) -> None:
        """End every open stream, so that stopping the console need not wait for its clients to go."""
        for streams in self._streams.values():
            for stream in streams:
                stream.end()

    def close(self, stream: Stream) -> None:
        streams = self._streams.get(stream.run_id)
        if streams is not None:
            streams.discard(stream)
            if not streams:
                del self._streams[stream.run_id]
