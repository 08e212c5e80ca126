"""Events the host and plugins broadcast through ``symphony_event``."""

from __future__ import annotations

import time
from typing import Any

import msgspec

from ._base import Base

__all__ = ["Event"]


class Event(Base, frozen=True):
    """A state change on a dotted ``topic``, e.g. ``host.started`` or ``plugin.failed``.

    ``source`` names the plugin or component that emitted it.
    """

    topic: str
    source: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    timestamp: float = msgspec.field(default_factory=time.time)
