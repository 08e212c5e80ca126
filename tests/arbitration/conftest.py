"""Engines over a clock the tests move, and small helpers to build requests and wait for a state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from symphony.builtin_plugins.pit.arbitration import ArbitrationEngine, Limits
from symphony.builtin_plugins.pit.arbitration.options import Budget
from symphony.hookspecs import Event
from symphony.hookspecs.ports import ResourceGrant, ResourceRequest

DEADLINE = 30.0


class Clock:
    """A monotonic clock that moves only when told, so waits and refills are exact."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> list[Event]:
    return []


MakeEngine = Callable[..., ArbitrationEngine]


@pytest.fixture
def make_engine(clock: Clock, events: list[Event]) -> MakeEngine:
    """``make_engine(slots=2, memory=..., budgets={name: (limit, period)}, **limits)`` over the test clock."""

    def make(
        *,
        slots: float = 2,
        memory: float = 1000,
        models: float = 256,
        extra: dict[str, float] | None = None,
        budgets: dict[str, tuple[float, float]] | None = None,
        **limits: Any,
    ) -> ArbitrationEngine:
        capacity = {"slots": float(slots), "memory": float(memory), "models": float(models), **(extra or {})}
        chosen = Limits(
            capacity=capacity,
            budgets={f"budget:{name}": Budget(limit, period) for name, (limit, period) in (budgets or {}).items()},
            **limits,
        )
        return ArbitrationEngine(chosen, emit=events.append, clock=clock)

    return make


def req(
    requester: str,
    *,
    priority: int = 0,
    user: str = "",
    run: str = "",
    timeout: float | None = None,
    preemptible: bool = False,
    description: str = "",
    budget: dict[str, float] | None = None,
    resources: dict[str, float] | None = None,
    **amounts: float,
) -> ResourceRequest:
    """A request of ``amounts`` (plus ``budget:<name>`` for each of ``budget``, plus raw ``resources``)."""
    wanted = {**amounts, **{f"budget:{name}": value for name, value in (budget or {}).items()}, **(resources or {})}
    return ResourceRequest(
        requester=requester,
        resources=wanted,
        priority=priority,
        user=user,
        run_id=run,
        timeout=timeout,
        preemptible=preemptible,
        description=description,
    )


async def until(condition: Callable[[], bool], what: str) -> None:
    """Poll the event loop until ``condition`` holds (failing after a generous deadline, never on speed)."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.001)


async def queued(engine: ArbitrationEngine, request: ResourceRequest, **kwargs: Any) -> asyncio.Task[ResourceGrant]:
    """Start ``acquire`` in a task and return once the request is waiting."""
    task = asyncio.ensure_future(engine.acquire(request, **kwargs))
    await until(lambda: task.done() or engine.explain(request.requester) is not None, f"{request.requester} is queued")
    assert not task.done(), f"{request.requester} was granted at once: {task.result()}"
    return task
