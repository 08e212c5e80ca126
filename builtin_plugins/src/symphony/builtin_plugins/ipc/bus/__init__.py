"""The builtin in-process message bus (seed M1.5): router, endpoints, correlation, pub/sub, metrics.

Names are imported on first use: every command loads the bus plugin, few start the bus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOME = {
    "BROADCAST": "bus",
    "BusMetrics": "metrics",
    "DEFAULT_QUEUE_SIZE": "pubsub",
    "DEFERRED": "bus",
    "InProcessBus": "bus",
    "LatencyStats": "metrics",
    "RequestTimeoutError": "correlation",
    "Router": "router",
    "Subscriber": "pubsub",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
