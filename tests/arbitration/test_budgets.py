"""Budgets are consumed by grants, refilled whole at each fixed window, and waits on them say when."""

from __future__ import annotations

import pytest

from symphony.builtin_plugins.pit.arbitration import ArbitrationEngine, Limits
from symphony.builtin_plugins.pit.arbitration.options import Budget

from .conftest import Clock, MakeEngine, queued, req, until


async def test_a_budget_is_consumed_by_a_grant_and_not_returned_on_release(make_engine: MakeEngine) -> None:
    engine = make_engine(budgets={"tokens": (1000, 60)})
    grant = await engine.acquire(req("a", slots=1, budget={"tokens": 300}))
    await engine.release(grant)
    assert engine.free("budget:tokens") == 700 and engine.free("slots") == 2


async def test_a_request_waiting_on_a_spent_budget_is_granted_at_the_next_window(
    make_engine: MakeEngine, clock: Clock
) -> None:
    engine = make_engine(budgets={"tokens": (1000, 60)})
    await engine.acquire(req("a", budget={"tokens": 800}))
    waiting = await queued(engine, req("b", budget={"tokens": 500}))
    clock.advance(59)
    engine.refill()
    assert not waiting.done()
    clock.advance(1)
    engine.refill()
    await waiting
    assert engine.free("budget:tokens") == 500


async def test_budget_windows_stay_aligned_to_the_engines_start(make_engine: MakeEngine, clock: Clock) -> None:
    engine = make_engine(budgets={"tokens": (10, 60)})
    await engine.acquire(req("a", budget={"tokens": 10}))
    clock.advance(150)  # two windows ended: the current one began at 120 and ends at 180
    engine.refill()
    await engine.acquire(req("b", budget={"tokens": 10}))
    assert engine.refills_in("budget:tokens") == pytest.approx(30)


async def test_a_wait_on_a_budget_is_explained_with_when_it_refills(make_engine: MakeEngine, clock: Clock) -> None:
    engine = make_engine(budgets={"openai-tokens": (100_000, 60)})
    await engine.acquire(req("a", budget={"openai-tokens": 99_000}))
    clock.advance(20)
    waiting = await queued(engine, req("b", budget={"openai-tokens": 5_000}))
    explanation = engine.explain("b")
    assert explanation is not None
    assert explanation.reason == (
        "budget: 'openai-tokens' has 1000 of 100000 left this period and this request needs 5000;"
        " it refills to 100000 in 40.0 s"
    )
    assert explanation.lacking == {"budget:openai-tokens": 4000}
    waiting.cancel()


async def test_the_engine_refills_by_itself_when_a_request_waits_on_a_budget() -> None:
    engine = ArbitrationEngine(Limits(capacity={"slots": 1}, budgets={"budget:calls": Budget(1, 0.05)}))
    await engine.acquire(req("first", budget={"calls": 1}))
    second = await queued(engine, req("second", budget={"calls": 1}))
    await until(second.done, "the refill timer grants the second call")
    assert (await second).requester == "second"
