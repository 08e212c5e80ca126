"""Publish/subscribe over dotted topics with wildcard patterns.

Delivery is at-most-once.  Each subscription owns a bounded queue (default
1,000 events) drained by its own task, so publishing never awaits a
subscriber.

**Backpressure policy: drop oldest.**  When a subscription's queue is full,
the oldest queued event is discarded to make room for the new one, and the
drop is counted (``dropped["queue_full"]`` in the bus metrics).  A slow
subscriber therefore holds at most ``queue_size`` events, cannot exhaust
memory and never blocks publishers or other subscribers; it sees the most
recent events.  A handler that raises is logged and counted
(``failed_handlers``); the subscription keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from symphony.hookspecs import MessageEnvelope
from symphony.hookspecs.ports import Handler

from .metrics import DROP_QUEUE_FULL, MetricsRecorder
from .router import Router

__all__ = ["DEFAULT_QUEUE_SIZE", "PubSub", "Subscriber"]

logger = logging.getLogger(__name__)

#: Events a subscription may hold before the oldest is dropped.
DEFAULT_QUEUE_SIZE = 1_000


class Subscriber:
    """A live subscription (implements the ``Subscription`` port protocol)."""

    __slots__ = ("_metrics", "_owner", "_waiter", "active", "handler", "pattern", "queue", "queue_size", "task")

    def __init__(
        self, owner: PubSub, pattern: str, handler: Handler, queue_size: int, metrics: MetricsRecorder
    ) -> None:
        self.pattern = pattern
        self.handler = handler
        self.queue_size = queue_size
        self.queue: deque[tuple[MessageEnvelope, int]] = deque()
        self.task: asyncio.Task[None] | None = None
        self.active = True
        self._owner = owner
        self._metrics = metrics
        self._waiter: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return f"<Subscription {self.pattern!r} queued={len(self.queue)} active={self.active}>"

    def cancel(self) -> None:
        """Stop delivery: no further events are queued, queued ones are discarded."""
        if not self.active:
            return
        self.active = False
        self._owner.remove(self)
        self.queue.clear()
        self.halt()

    def offer(self, envelope: MessageEnvelope, now_ns: int) -> None:
        """Queue an event without ever waiting; drops the oldest when full (see the module docstring)."""
        queue = self.queue
        if len(queue) >= self.queue_size:
            queue.popleft()
            self._metrics.drop(DROP_QUEUE_FULL)
        queue.append((envelope, now_ns))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain(), name=f"bus-subscriber:{self.pattern}")
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def halt(self) -> None:
        """Cancel the draining task (queued events stay until the task is restarted)."""
        if self.task is not None:
            self.task.cancel()
            self.task = None

    def ensure_running(self) -> None:
        if self.task is None and self.active:
            self.task = asyncio.get_running_loop().create_task(self._drain(), name=f"bus-subscriber:{self.pattern}")

    async def _drain(self) -> None:
        queue, metrics, handler = self.queue, self._metrics, self.handler
        loop = asyncio.get_running_loop()
        while True:
            while not queue:
                self._waiter = loop.create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
            envelope, queued_ns = queue.popleft()
            metrics.delivery_latency.add(time.perf_counter_ns() - queued_ns)
            try:
                await handler(envelope)
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.failed_handlers += 1
                topic = getattr(envelope.payload, "topic", "?")
                logger.exception("Subscriber %r failed handling event %r; it keeps running.", self.pattern, topic)
            else:
                metrics.delivered += 1


class PubSub:
    """The subscriptions of one bus, routed by a pattern trie."""

    __slots__ = ("_metrics", "queue_size", "router")

    def __init__(
        self, metrics: MetricsRecorder, *, queue_size: int = DEFAULT_QUEUE_SIZE, cache_size: int = 4096
    ) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, not {queue_size}.")
        self.router: Router[Subscriber] = Router(cache_size)
        self.queue_size = queue_size
        self._metrics = metrics

    def __len__(self) -> int:
        return len(self.router)

    def subscribe(self, pattern: str, handler: Handler, queue_size: int | None = None) -> Subscriber:
        size = self.queue_size if queue_size is None else queue_size
        if size < 1:
            raise ValueError(f"queue_size must be at least 1, not {size}.")
        subscriber = Subscriber(self, pattern, handler, size, self._metrics)
        self.router.add(pattern, subscriber)
        # Without a running loop the task starts on the first event or on bus.start().
        with contextlib.suppress(RuntimeError):
            subscriber.ensure_running()
        return subscriber

    def remove(self, subscriber: Subscriber) -> None:
        self.router.remove(subscriber.pattern, subscriber)

    def fan_out(self, topic: str, envelope: MessageEnvelope) -> int:
        """Queue ``envelope`` for every subscription matching ``topic``; returns how many."""
        subscribers = self.router.match(topic)
        if subscribers:
            now = time.perf_counter_ns()
            for subscriber in subscribers:
                subscriber.offer(envelope, now)
        return len(subscribers)

    def subscribers(self) -> list[Subscriber]:
        return list(self.router.values())

    def start(self) -> None:
        for subscriber in self.router.values():
            subscriber.ensure_running()

    async def stop(self) -> None:
        tasks = [s.task for s in self.router.values() if s.task is not None]
        for subscriber in self.router.values():
            subscriber.halt()
        await asyncio.gather(*tasks, return_exceptions=True)
