"""Routing counters and latency statistics of one bus, read as a msgspec Struct."""

from __future__ import annotations

import msgspec

__all__ = ["BusMetrics", "LatencyStats", "MetricsRecorder"]

#: Reasons a message is dropped, as keys of ``BusMetrics.dropped``.
DROP_QUEUE_FULL = "queue_full"
DROP_LATE_RESPONSE = "late_response"
DROP_NO_SUBSCRIBERS = "no_subscribers"
DROP_STOPPED = "stopped"


class LatencyStats(msgspec.Struct, frozen=True, kw_only=True):
    """Count, mean and maximum of a latency, in microseconds."""

    count: int = 0
    mean_us: float = 0.0
    max_us: float = 0.0


class BusMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of a bus's counters.

    - ``routed``: envelopes routed (sent to an endpoint, requests, responses, published events);
    - ``delivered``: handler calls that completed (endpoint, request and subscriber handlers);
    - ``dropped``: messages dropped, by reason (``queue_full``, ``late_response``,
      ``no_subscribers``, ``stopped``);
    - ``late_responses``: responses that arrived after their request timed out or was cancelled;
    - ``failed_handlers``: handler calls that raised;
    - ``unknown_endpoints``: sends and requests to an endpoint that is not registered;
    - ``pending_requests``, ``endpoints``, ``subscriptions``: current sizes;
    - ``request_latency``: request to response; ``delivery_latency``: publish to subscriber handler start.
    """

    routed: int = 0
    delivered: int = 0
    dropped: dict[str, int] = msgspec.field(default_factory=dict)
    late_responses: int = 0
    failed_handlers: int = 0
    unknown_endpoints: int = 0
    pending_requests: int = 0
    endpoints: int = 0
    subscriptions: int = 0
    request_latency: LatencyStats = LatencyStats()
    delivery_latency: LatencyStats = LatencyStats()


class _Latency:
    __slots__ = ("count", "max_ns", "total_ns")

    def __init__(self) -> None:
        self.count = 0
        self.total_ns = 0
        self.max_ns = 0

    def add(self, ns: int) -> None:
        self.count += 1
        self.total_ns += ns
        self.max_ns = max(self.max_ns, ns)

    def stats(self) -> LatencyStats:
        mean = self.total_ns / self.count / 1000 if self.count else 0.0
        return LatencyStats(count=self.count, mean_us=round(mean, 3), max_us=round(self.max_ns / 1000, 3))


class MetricsRecorder:
    """Mutable counters the bus updates in place (plain attributes: the hot path stays cheap)."""

    __slots__ = (
        "delivered",
        "delivery_latency",
        "dropped",
        "failed_handlers",
        "late_responses",
        "request_latency",
        "routed",
        "unknown_endpoints",
    )

    def __init__(self) -> None:
        self.routed = 0
        self.delivered = 0
        self.dropped: dict[str, int] = {}
        self.late_responses = 0
        self.failed_handlers = 0
        self.unknown_endpoints = 0
        self.request_latency = _Latency()
        self.delivery_latency = _Latency()

    def drop(self, reason: str, count: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + count

    def snapshot(self, *, pending_requests: int, endpoints: int, subscriptions: int) -> BusMetrics:
        return BusMetrics(
            routed=self.routed,
            delivered=self.delivered,
            dropped=dict(self.dropped),
            late_responses=self.late_responses,
            failed_handlers=self.failed_handlers,
            unknown_endpoints=self.unknown_endpoints,
            pending_requests=pending_requests,
            endpoints=endpoints,
            subscriptions=subscriptions,
            request_latency=self.request_latency.stats(),
            delivery_latency=self.delivery_latency.stats(),
        )
