"""Every wait is explained: what it lacks, behind whom, and the one rule that holds it back."""

from __future__ import annotations

from .conftest import Clock, MakeEngine, queued, req


async def test_a_request_not_waiting_has_no_explanation(make_engine: MakeEngine) -> None:
    engine = make_engine()
    await engine.acquire(req("granted", slots=1))
    assert engine.explain("granted") is None and engine.explain("never-asked") is None


async def test_a_capacity_wait_names_the_free_amount_and_the_holders(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=8, memory=2**32)
    await engine.acquire(req("run-x/load", slots=7, memory=3 * 2**30, description="node 'load' of run run-x"))
    waiting = await queued(engine, req("run-y/fit", slots=2, memory=2**31, description="node 'fit' of run run-y"))
    explanation = engine.explain("run-y/fit")
    assert explanation is not None
    assert explanation.description == "node 'fit' of run run-y"
    assert explanation.lacking == {"slots": 1.0, "memory": 2.0**30}
    assert explanation.behind == ["run-x/load"]
    assert explanation.reason == "capacity: 1 of 8 slots free and this request needs 2"
    waiting.cancel()


async def test_memory_amounts_are_given_in_binary_units(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=8, memory=2**32)
    await engine.acquire(req("big", memory=3 * 2**30))
    waiting = await queued(engine, req("bigger", memory=2**31))
    explanation = engine.explain("bigger")
    assert explanation is not None
    assert explanation.reason == "capacity: 1GiB of 4GiB memory free and this request needs 2GiB"
    waiting.cancel()


async def test_a_wait_behind_a_higher_priority_names_the_priority_rule(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=2)
    await engine.acquire(req("holder", slots=1))
    high = await queued(engine, req("high", slots=2, priority=5))
    low = await queued(engine, req("low", slots=1))
    explanation = engine.explain("low")
    assert explanation is not None
    assert (
        explanation.reason
        == "priority: 1 waiting request(s) of priority 5 need the slots first (this one has priority 0)"
    )
    assert explanation.behind == ["high"] and explanation.lacking == {"slots": 1.0}
    high.cancel()
    low.cancel()


async def test_the_waiting_list_is_in_grant_order_with_waited_time(make_engine: MakeEngine, clock: Clock) -> None:
    engine = make_engine(slots=1)
    await engine.acquire(req("holder", slots=1))
    tasks = [await queued(engine, req("low", slots=1, priority=1))]
    clock.advance(2)
    tasks.append(await queued(engine, req("high", slots=1, priority=3)))
    waits = engine.waiting()
    assert [w.requester for w in waits] == ["high", "low"]
    assert [w.waited for w in waits] == [0.0, 2.0]
    assert waits[1].reason.endswith("; 1 request(s) are ahead of it in grant order")
    for task in tasks:
        task.cancel()


async def test_a_wait_behind_a_reserved_request_names_the_reservation(make_engine: MakeEngine, clock: Clock) -> None:
    engine = make_engine(slots=2, reserve_seconds=30)
    await engine.acquire(req("holder", slots=1))
    big = await queued(engine, req("big", slots=2))
    clock.advance(31)  # waited past reserve_seconds: what it needs is kept for it from now on
    late = await queued(engine, req("late", slots=1))
    explanation = engine.explain("late")
    assert explanation is not None and explanation.behind == ["big"]
    assert explanation.reason.startswith("reservation: the free slots is kept for 'big'")
    big.cancel()
    late.cancel()


async def test_a_fitting_request_beyond_the_backfill_window_names_fair_share(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=2, memory=10, backfill_depth=1)
    await engine.acquire(req("holder", memory=10))
    head = await queued(engine, req("head", memory=5))
    small = await queued(engine, req("small", slots=1))
    explanation = engine.explain("small")
    assert explanation is not None and explanation.lacking == {} and explanation.behind == ["head"]
    assert explanation.reason.startswith("fair share: 1 request(s) are ahead of it in grant order")
    head.cancel()
    small.cancel()
