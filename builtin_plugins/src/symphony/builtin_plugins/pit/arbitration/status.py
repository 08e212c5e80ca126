"""What the engine reports: its counters (the health check) and its state (``symphony arbitration status``)."""

from __future__ import annotations

from dataclasses import dataclass

from symphony.hookspecs import Base
from symphony.hookspecs.ports import WaitExplanation

__all__ = ["BudgetStatus", "Holder", "Metrics", "Status"]


@dataclass(slots=True)
class Metrics:
    """Counters for the health check: how often requests were granted, waited, timed out, were preempted."""

    grants: int = 0
    waits: int = 0
    timeouts: int = 0
    cancellations: int = 0
    preemptions: int = 0
    #: Seconds waited, summed over granted requests that waited, and the longest.
    wait_seconds: float = 0.0
    max_wait: float = 0.0


class BudgetStatus(Base, frozen=True):
    """One budget now: its limit per period, what is left of this window and when the next begins."""

    limit: float
    period: float
    left: float
    refills_in: float


class Holder(Base, frozen=True):
    """One grant not yet released."""

    requester: str
    resources: dict[str, float]
    priority: int
    user: str
    run_id: str
    #: Seconds since it was granted.
    held: float
    preemptible: bool


class Status(Base, frozen=True):
    """The engine as ``symphony arbitration status`` shows it."""

    capacity: dict[str, float]
    free: dict[str, float]
    budgets: dict[str, BudgetStatus]
    quotas: dict[str, dict[str, float]]
    weights: dict[str, float]
    holders: list[Holder]
    waiting: list[WaitExplanation]
