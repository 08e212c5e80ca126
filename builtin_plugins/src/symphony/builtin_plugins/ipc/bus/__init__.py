"""The builtin in-process message bus (seed M1.5): router, endpoints, correlation, pub/sub, metrics."""

from __future__ import annotations

from .bus import BROADCAST, DEFERRED, InProcessBus
from .correlation import RequestTimeoutError
from .metrics import BusMetrics, LatencyStats
from .pubsub import DEFAULT_QUEUE_SIZE, Subscriber
from .router import Router

__all__ = [
    "BROADCAST",
    "DEFAULT_QUEUE_SIZE",
    "DEFERRED",
    "BusMetrics",
    "InProcessBus",
    "LatencyStats",
    "RequestTimeoutError",
    "Router",
    "Subscriber",
]
