"""``soak_bus``: one publisher as fast as the bus sustains, 100 subscribers of which 10 are slow, held for a while.

The builtin :class:`InProcessBus` (default queue of 1,000 events per subscription,
drop-oldest: see its ``pubsub`` module).  90 fast subscribers count each event; 10 slow
ones sleep 1 ms per event.  The publisher publishes bursts of 100 events and yields to
the event loop after each, the highest rate at which the fast subscribers keep up (a
burst never exceeds their queue, and each drains its queue in one turn), for 60 s
(``--quick``: 5 s).  Then every subscription is drained and the counts are checked
against the policy: each fast subscriber handled every event; each slow one handled or
dropped every event (handled + dropped = published, and it never held more than its
queue); the bus's ``dropped["queue_full"]`` is the sum of the slow ones' drops.

Records: events/s published (against the same publisher with 100 fast subscribers,
measured briefly before and after in the same run, so the figure says what the slow ones cost),
deliveries to fast and slow subscribers against what was published to them, drops
against published, RSS at the end against after the first second.
"""

from __future__ import annotations

import asyncio
import time

import psutil

from benchmarks.run import Record, record
from symphony.builtin_plugins.ipc.bus import DEFAULT_QUEUE_SIZE, InProcessBus
from symphony.hookspecs import MessageEnvelope

__all__ = ["run"]

SUBSCRIBERS = 100
SLOW = 10
BURST = 100
SLOW_DELAY = 0.001


class _Counter:
    """A subscriber's handler that counts what it handled, pausing ``delay`` seconds per event when slow."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.handled = 0
        self.last = -1
        self.in_order = True

    async def __call__(self, envelope: MessageEnvelope) -> None:
        sequence = envelope.payload.data["n"]  # type: ignore[union-attr]
        self.in_order = self.in_order and sequence > self.last
        self.last = sequence
        self.handled += 1
        if self.delay:
            await asyncio.sleep(self.delay)


async def _publish_for(bus: InProcessBus, seconds: float, on_first_second: list[int] | None = None) -> int:
    published = 0
    began = time.perf_counter()
    until = began + seconds
    mark = began + 1.0
    process = psutil.Process()
    while True:
        now = time.perf_counter()
        if now >= until:
            return published
        if on_first_second is not None and not on_first_second and now >= mark:
            on_first_second.append(process.memory_info().rss)
        for _ in range(BURST):
            bus.publish_nowait("soak.event", {"n": published})
            published += 1
        await asyncio.sleep(0)


async def _drained(bus: InProcessBus, expected: int) -> None:
    """Wait (with a deadline) until every event published was handled or dropped by every subscriber."""
    deadline = time.monotonic() + 60
    while True:
        metrics = bus.metrics()
        if metrics.delivered + metrics.dropped.get("queue_full", 0) >= expected:
            return
        assert time.monotonic() < deadline, "subscribers did not drain their queues within 60 s"
        await asyncio.sleep(0.01)


async def _baseline(seconds: float) -> float:
    bus = InProcessBus()
    await bus.start()
    counters = [_Counter(0.0) for _ in range(SUBSCRIBERS)]
    subscriptions = [bus.subscribe("soak.*", counter) for counter in counters]
    began = time.perf_counter()
    published = await _publish_for(bus, seconds)
    rate = published / (time.perf_counter() - began)
    for subscription in subscriptions:
        subscription.cancel()
    await bus.stop()
    return rate


async def _soak(seconds: float) -> dict[str, float]:
    baseline_seconds = min(5.0, seconds / 4) / 2
    before = await _baseline(baseline_seconds)
    bus = InProcessBus()
    await bus.start()
    fast = [_Counter(0.0) for _ in range(SUBSCRIBERS - SLOW)]
    slow = [_Counter(SLOW_DELAY) for _ in range(SLOW)]
    subscriptions = [bus.subscribe("soak.*", counter) for counter in fast + slow]
    rss_first: list[int] = []
    began = time.perf_counter()
    published = await _publish_for(bus, seconds, rss_first)
    rate = published / (time.perf_counter() - began)
    rss_end = psutil.Process().memory_info().rss
    await _drained(bus, published * SUBSCRIBERS)
    dropped = bus.metrics().dropped.get("queue_full", 0)
    for subscription in subscriptions:
        subscription.cancel()
    await bus.stop()
    baseline = (before + await _baseline(baseline_seconds)) / 2  # before and after: the machine's load drifts

    assert all(c.handled == published for c in fast), "a fast subscriber missed events"
    slow_dropped = [published - c.handled for c in slow]
    assert sum(slow_dropped) == dropped, f"the bus counted {dropped} drops, the slow subscribers missed {slow_dropped}"
    assert all(c.in_order for c in fast + slow), "a subscriber saw events out of order"
    return {
        "published": published,
        "rate": rate,
        "baseline": baseline,
        "fast_handled": sum(c.handled for c in fast),
        "slow_handled": sum(c.handled for c in slow),
        "dropped": dropped,
        "rss_first": rss_first[0] if rss_first else rss_end,
        "rss_end": rss_end,
    }


def run(quick: bool) -> list[Record]:
    seconds = 5.0 if quick else 60.0
    soak = asyncio.run(_soak(seconds))
    size = f"@{SUBSCRIBERS}"
    scale = " (quick: 5 s; full: 60 s)" if quick else ""
    published = soak["published"]
    return [
        record(
            f"soak_bus.publish_rate{size}",
            soak["rate"],
            "events/s",
            f"the same publisher with {SUBSCRIBERS} fast subscribers",
            soak["baseline"],
            goal=f"slow subscribers cost the others nothing{scale}",
        ),
        record(
            f"soak_bus.delivered_fast{size}",
            soak["fast_handled"],
            "events",
            "published to the fast subscribers",
            published * (SUBSCRIBERS - SLOW),
            goal="1.0x: a fast subscriber loses nothing",
        ),
        record(
            f"soak_bus.delivered_slow{size}",
            soak["slow_handled"],
            "events",
            "published to the slow subscribers",
            published * SLOW,
        ),
        record(
            f"soak_bus.dropped_slow{size}",
            soak["dropped"],
            "events",
            "published to the slow subscribers",
            published * SLOW,
            goal=f"drop-oldest past {DEFAULT_QUEUE_SIZE} queued, each counted as queue_full; order kept",
        ),
        record(
            f"soak_bus.rss_end{size}",
            soak["rss_end"] / 2**20,
            "MiB",
            "RSS after the first second",
            soak["rss_first"] / 2**20,
            goal="<= 1.1x: flat within 10%",
        ),
    ]
