"""IPC benchmarks: in-process bus routing and envelope codecs.

- ``bus_route``: ``bus.send`` of N request envelopes (quick 20,000, full 200,000)
  to a registered no-op endpoint on the builtin :class:`InProcessBus`, against a
  plain ``dict`` lookup of the same handler and a direct ``await`` of it, in the
  same run: throughput (msg/s, one untimed loop) and p50/p99 latency of one
  route (each call timed with ``perf_counter_ns``).  Also ``request`` round
  trips (N/10) and pub/sub delivery: publish one event to 10 subscribers and
  wait until all 10 handlers ran, against awaiting the 10 handlers directly;
  and ``Router.match`` of 1,000 topics against 100 patterns (exact, ``*``,
  ``>``), from the topic cache and through the trie (cache off), against
  ``dict.get``.
- ``codec``: encode and decode of a typical request envelope with the builtin
  codecs (msgspec MessagePack and JSON, decoding into the typed envelope)
  against stdlib ``json.dumps``/``json.loads`` of ``msgspec.to_builtins(envelope)``.

The garbage collector is disabled while timing, as ``timeit`` does.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import timeit
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.builtin_plugins.ipc.bus import InProcessBus, Router
from symphony.builtin_plugins.ipc.codecs import CODECS
from symphony.hookspecs import EndpointId, MessageEnvelope, RequestPayload
from symphony.hookspecs.ports import Handler

__all__ = ["run_codec", "run_route"]

SUBSCRIBERS = 10


def _envelopes(count: int) -> list[MessageEnvelope]:
    return [
        MessageEnvelope.create(RequestPayload(method="noop", params={"i": i}), sender="bench", recipient="sink")
        for i in range(count)
    ]


async def _throughput(call: Callable[[MessageEnvelope], Awaitable[None]], envelopes: list[MessageEnvelope]) -> float:
    with no_gc():
        start = time.perf_counter()
        for envelope in envelopes:
            await call(envelope)
        elapsed = time.perf_counter() - start
    return len(envelopes) / elapsed


async def _latencies_us(
    call: Callable[[MessageEnvelope], Awaitable[Any]], envelopes: list[MessageEnvelope]
) -> list[float]:
    clock = time.perf_counter_ns
    samples = [0] * len(envelopes)
    with no_gc():
        for i, envelope in enumerate(envelopes):
            start = clock()
            await call(envelope)
            samples[i] = clock() - start
    return [ns / 1000 for ns in samples]


async def _route(quick: bool) -> list[Record]:
    count = 20_000 if quick else 200_000
    envelopes = _envelopes(count)

    async def noop(envelope: MessageEnvelope) -> None:
        return None

    bus = InProcessBus()
    await bus.start()
    sink = EndpointId("sink")
    bus.register_endpoint(sink, noop)
    table: dict[EndpointId, Handler] = {sink: noop}

    async def direct(envelope: MessageEnvelope) -> None:
        await table[envelope.header.recipient](envelope)

    warm = envelopes[: min(2_000, count)]
    await _throughput(bus.send, warm)
    await _throughput(direct, warm)
    bus_rate = await _throughput(bus.send, envelopes)
    base_rate = await _throughput(direct, envelopes)
    bus_lat = await _latencies_us(bus.send, envelopes)
    base_lat = await _latencies_us(direct, envelopes)

    requests = envelopes[: count // 10]

    async def ask(envelope: MessageEnvelope) -> MessageEnvelope:
        return await bus.request(envelope, timeout=5)

    await _latencies_us(ask, requests[:200])
    request_lat = await _latencies_us(ask, requests)
    assert bus.metrics().pending_requests == 0

    pubsub_lat, pubsub_base = await _pubsub(bus, 2_000 if quick else 20_000)
    await bus.stop()
    cached_us, trie_us, dict_us = _match(quick)

    base = "dict lookup + await handler"
    seed_route = "<0.1 ms routing"
    size = f"@{count}"
    return [
        record(
            f"bus_route.throughput{size}",
            bus_rate,
            "msg/s",
            base,
            base_rate,
            seed_target="10,000+ msg/s",
            goal=">= 300,000 msg/s",
        ),
        record(
            f"bus_route.send_p50{size}",
            statistics.median(bus_lat),
            "us",
            base,
            statistics.median(base_lat),
            seed_target=seed_route,
        ),
        record(
            f"bus_route.send_p99{size}",
            percentile(bus_lat, 0.99),
            "us",
            base,
            percentile(base_lat, 0.99),
            seed_target=seed_route,
            goal="p99 <= 20 us",
        ),
        record(
            f"bus_route.request_p50@{len(requests)}",
            statistics.median(request_lat),
            "us",
            base,
            statistics.median(base_lat),
        ),
        record(
            f"bus_route.request_p99@{len(requests)}",
            percentile(request_lat, 0.99),
            "us",
            base,
            percentile(base_lat, 0.99),
        ),
        record(
            f"bus_route.pubsub_p50@{SUBSCRIBERS}",
            statistics.median(pubsub_lat),
            "us",
            f"await {SUBSCRIBERS} handlers directly",
            statistics.median(pubsub_base),
            seed_target="<1 ms pub/sub delivery to all subscribers",
        ),
        record(
            f"bus_route.pubsub_p99@{SUBSCRIBERS}",
            percentile(pubsub_lat, 0.99),
            "us",
            f"await {SUBSCRIBERS} handlers directly",
            percentile(pubsub_base, 0.99),
            seed_target="<1 ms pub/sub delivery to all subscribers",
        ),
        record(
            f"bus_route.match_cached@{PATTERNS}",
            cached_us,
            "us",
            "dict.get of the topic",
            dict_us,
            seed_target=seed_route,
        ),
        record(
            f"bus_route.match_trie@{PATTERNS}",
            trie_us,
            "us",
            "dict.get of the topic",
            dict_us,
            seed_target=seed_route,
        ),
    ]


PATTERNS = 100


def _match(quick: bool) -> tuple[float, float, float]:
    """Per-topic cost of Router.match over 1,000 topics against 100 patterns: cached, uncached, and dict.get."""
    patterns = [
        f"svc{i}.*.done" if i % 3 == 0 else f"svc{i}.>" if i % 3 == 1 else f"svc{i}.node.done" for i in range(PATTERNS)
    ]
    topics = [f"svc{i % PATTERNS}.node{i}.done" for i in range(1_000)]
    cached: Router[int] = Router(cache_size=4096)
    trie: Router[int] = Router(cache_size=0)
    plain = {topic: (i,) for i, topic in enumerate(topics)}
    for i, pattern in enumerate(patterns):
        cached.add(pattern, i)
        trie.add(pattern, i)
    for topic in topics:
        cached.match(topic)

    def per_topic(match: Callable[[str], object]) -> float:
        def loop() -> None:
            for topic in topics:
                match(topic)

        number = 20 if quick else 200
        best = min(timeit.Timer(loop).repeat(repeat=5, number=number))
        return best / number / len(topics) * 1e6

    return per_topic(cached.match), per_topic(trie.match), per_topic(plain.get)


async def _pubsub(bus: InProcessBus, events: int) -> tuple[list[float], list[float]]:
    """Latency from publish until all subscribers handled the event, and the direct-await baseline."""
    loop = asyncio.get_running_loop()
    state: dict[str, Any] = {"left": 0, "done": loop.create_future()}

    async def handler(envelope: MessageEnvelope) -> None:
        state["left"] -= 1
        if state["left"] == 0:
            state["done"].set_result(None)

    subscriptions = [bus.subscribe("bench.*.done", handler) for _ in range(SUBSCRIBERS)]
    data = {"node": "n1"}
    clock = time.perf_counter_ns

    async def once() -> int:
        state["left"], state["done"] = SUBSCRIBERS, loop.create_future()
        start = clock()
        await bus.publish("bench.node.done", data)
        await state["done"]
        return clock() - start

    for _ in range(200):
        await once()
    with no_gc():
        measured = [await once() for _ in range(events)]
    for subscription in subscriptions:
        subscription.cancel()

    probe = MessageEnvelope.create(RequestPayload(method="x"), sender="bench", recipient="sink")
    handlers = [handler] * SUBSCRIBERS

    async def direct() -> int:
        state["left"], state["done"] = SUBSCRIBERS, loop.create_future()
        start = clock()
        for h in handlers:
            await h(probe)
        await state["done"]
        return clock() - start

    with no_gc():
        baseline = [await direct() for _ in range(events)]
    return [ns / 1000 for ns in measured], [ns / 1000 for ns in baseline]


def run_route(quick: bool) -> list[Record]:
    return asyncio.run(_route(quick))


def typical_envelope() -> MessageEnvelope:
    """A request as the editor sends one to run a workflow node."""
    return MessageEnvelope.create(
        RequestPayload(
            method="workflow.run_node",
            params={
                "workflow_id": "wf-3f2a9c",
                "node": "summarise",
                "inputs": {"prompt": "Summarise the attached notes in three bullet points.", "max_tokens": 256},
                "temperature": 0.7,
                "tags": ["editor", "interactive"],
            },
        ),
        sender="editor",
        recipient="orchestra",
    )


def _best_us(function: Callable[[], object], quick: bool) -> float:
    number = 2_000 if quick else 20_000
    timer = timeit.Timer(function)
    return min(timer.repeat(repeat=5 if quick else 15, number=number)) / number * 1e6


def run_codec(quick: bool) -> list[Record]:
    envelope = typical_envelope()
    plain = msgspec.to_builtins(envelope)
    text = json.dumps(plain)
    json_encode = _best_us(lambda: json.dumps(plain), quick)
    json_decode = _best_us(lambda: json.loads(text), quick)
    records: list[Record] = []
    for codec in CODECS:
        data = codec.encode(envelope)
        assert codec.decode(data) == envelope
        goal = "<= 2 us each way" if codec.name == "msgpack" else None
        records += [
            record(
                f"codec.{codec.name}.encode",
                _best_us(lambda c=codec: c.encode(envelope), quick),  # type: ignore[misc]
                "us",
                "json.dumps of to_builtins(envelope)",
                json_encode,
                seed_target="serialize <0.01 ms",
                goal=goal,
            ),
            record(
                f"codec.{codec.name}.decode",
                _best_us(lambda c=codec, d=data: c.decode(d), quick),  # type: ignore[misc]
                "us",
                "json.loads of the same data",
                json_decode,
                goal=goal,
            ),
            record(f"codec.{codec.name}.size", len(data), "B", "json.dumps size", len(text)),
        ]
    return records
