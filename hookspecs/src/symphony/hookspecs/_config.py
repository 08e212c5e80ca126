"""Per-component configuration, the seed's ComponentConfig, as plugins receive it."""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import Base

__all__ = ["ComponentConfig", "RetryPolicy"]


class RetryPolicy(Base, frozen=True):
    """How often and how patiently to retry a failed operation.

    The delay before attempt ``n`` (from 2) is
    ``min(backoff_initial * backoff_multiplier ** (n - 2), backoff_max)`` seconds.
    """

    max_attempts: int = 3
    backoff_initial: float = 0.1
    backoff_multiplier: float = 2.0
    backoff_max: float = 10.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (1-based; the first attempt waits 0)."""
        if attempt <= 1:
            return 0.0
        return min(self.backoff_initial * self.backoff_multiplier ** (attempt - 2), self.backoff_max)


class ComponentConfig(Base, frozen=True):
    """The settings section of one component, validated by the host.

    ``options`` carries the component's own keys; the component validates them.
    """

    enabled: bool = True
    timeout: float = 30.0
    retry_policy: RetryPolicy = RetryPolicy()
    metrics_enabled: bool = False
    options: dict[str, Any] = msgspec.field(default_factory=dict)
