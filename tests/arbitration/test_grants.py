"""Grants are all or nothing, by priority, withdrawn on cancellation, bounded by time-outs, and validated."""

from __future__ import annotations

import asyncio
import math

import pytest

from symphony.hookspecs import Event, ValidationError
from symphony.hookspecs.ports import ResourceRequest

from .conftest import DEADLINE, MakeEngine, queued, req, until


async def test_a_request_that_fits_is_granted_at_once_with_every_resource_it_asked_for(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine(slots=2, memory=100)
    grant = await engine.acquire(req("a", slots=1, memory=40))
    assert grant.requester == "a" and grant.resources == {"slots": 1.0, "memory": 40.0}
    assert engine.free("slots") == 1 and engine.free("memory") == 60


async def test_a_waiting_request_holds_none_of_what_it_asked_for(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=2, memory=100)
    hog = await engine.acquire(req("hog", memory=100))
    waiting = await queued(engine, req("both", slots=1, memory=10))
    assert engine.free("slots") == 2, "a request waiting for memory must not hold a slot meanwhile"
    await engine.release(hog)
    grant = await waiting
    assert grant.resources == {"slots": 1.0, "memory": 10.0}


async def test_requests_that_need_each_others_resources_never_deadlock(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=1, memory=1)
    first = await engine.acquire(req("first", slots=1))
    second = await engine.acquire(req("second", memory=1))
    crossing = [await queued(engine, req(f"wants-both-{i}", slots=1, memory=1)) for i in range(3)]
    await engine.release(first)
    await engine.release(second)
    for task in crossing:
        await engine.release(await task)
    assert engine.free("slots") == 1 and engine.free("memory") == 1


async def test_a_higher_priority_request_is_granted_before_earlier_lower_ones(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=1)
    holder = await engine.acquire(req("holder", slots=1))
    low = await queued(engine, req("low", slots=1, priority=1))
    high = await queued(engine, req("high", slots=1, priority=9))
    await engine.release(holder)
    grant = await high
    assert not low.done()
    await engine.release(grant)
    await engine.release(await low)


async def test_requests_of_one_run_are_granted_first_come_first_served(
    make_engine: MakeEngine, events: list[Event]
) -> None:
    engine = make_engine(slots=1)
    grant = await engine.acquire(req("holder", slots=1, run="r"))
    tasks = [await queued(engine, req(f"n{i}", slots=1, run="r")) for i in range(5)]
    for task in tasks:
        await engine.release(grant)
        grant = await task
    granted = [e.data["requester"] for e in events if e.topic == "arbitration.granted"]
    assert granted == ["holder", "n0", "n1", "n2", "n3", "n4"]


async def test_a_lower_priority_request_never_takes_what_a_higher_one_waits_for(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=2)
    holder = await engine.acquire(req("holder", slots=1))
    high = await queued(engine, req("high", slots=2, priority=5))
    low = await queued(engine, req("low", slots=1, priority=0))
    assert engine.free("slots") == 1, "the free slot stays free for the higher priority"
    await engine.release(holder)
    await engine.release(await high)
    await engine.release(await low)


async def test_a_smaller_request_passes_a_blocked_larger_one_until_the_larger_is_reserved_for(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine(slots=4, reserve_after=2)
    holders = [await engine.acquire(req(f"h{i}", slots=1)) for i in range(3)]
    big = await queued(engine, req("big", slots=4))
    for i in range(2):  # backfilled: one slot is free and the big request cannot use it yet
        await engine.release(await engine.acquire(req(f"small{i}", slots=1)))
    late = await queued(engine, req("late", slots=1))  # passed twice: the big one is reserved for now
    assert engine.free("slots") == 1
    for holder in holders:
        await engine.release(holder)
    grant = await big
    assert not late.done()
    await engine.release(grant)
    await engine.release(await late)


async def test_cancelling_a_waiting_acquire_withdraws_its_request(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=1)
    holder = await engine.acquire(req("holder", slots=1))
    waiting = await queued(engine, req("gives-up", slots=1))
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert engine.explain("gives-up") is None and engine.waiting() == []
    await engine.release(holder)
    assert engine.free("slots") == 1, "nothing was granted to the withdrawn request"
    assert engine.metrics.cancellations == 1


async def test_a_request_cancelled_just_before_a_release_is_not_granted(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=1)
    holder = await engine.acquire(req("holder", slots=1))
    waiting = await queued(engine, req("gives-up", slots=1))
    waiting.cancel()
    await engine.release(holder)  # decides before the cancelled task has run again
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert engine.free("slots") == 1 and engine.waiting() == []


async def test_a_request_that_waits_past_its_timeout_raises_naming_what_it_lacked_and_behind_whom(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine(slots=1)
    await engine.acquire(req("run-a/node-1", slots=1))
    with pytest.raises(TimeoutError) as raised:
        await engine.acquire(req("run-b/node-2", slots=1, timeout=0.05, description="node 'node-2' of run run-b"))
    message = str(raised.value)
    assert "node 'node-2' of run run-b" in message and "waited 0.05 s" in message
    assert "lacked slots=1" in message and "behind 'run-a/node-1'" in message and "capacity:" in message
    assert engine.waiting() == [] and engine.metrics.timeouts == 1


async def test_the_engines_default_timeout_applies_to_a_request_that_sets_none(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=1, timeout=0.05)
    await engine.acquire(req("holder", slots=1))
    with pytest.raises(TimeoutError, match="'waits'"):
        await engine.acquire(req("waits", slots=1))


async def test_releasing_a_grant_twice_is_a_validation_error(make_engine: MakeEngine) -> None:
    engine = make_engine()
    grant = await engine.acquire(req("a", slots=1))
    await engine.release(grant)
    with pytest.raises(ValidationError, match="already released"):
        await engine.release(grant)


@pytest.mark.parametrize(
    ("resources", "timeout", "expected"),
    [
        ({"gpu": 1}, None, "unknown resource 'gpu'"),
        ({"slots": 3}, None, "slots = 3 exceeds the total capacity 2"),
        ({"slots": -1}, None, "slots = -1 is negative"),
        ({"slots": math.nan}, None, "slots = nan is not a finite number"),
        ({"memory": math.inf}, None, "memory = inf is not a finite number"),
        ({"slots": True}, None, "slots = True is not a finite number"),
        ({"slots": 1}, -1.0, "timeout = -1.0 must be a positive number of seconds"),
    ],
)
async def test_a_request_no_capacity_could_satisfy_is_refused_at_once(
    make_engine: MakeEngine, resources: dict[str, float], timeout: float | None, expected: str
) -> None:
    engine = make_engine(slots=2)
    with pytest.raises(ValidationError, match=expected.replace("(", r"\(")) as raised:
        await engine.acquire(req("bad", timeout=timeout, resources=resources))
    assert "Request of 'bad' cannot be granted" in str(raised.value)
    assert engine.waiting() == [] and engine.free("slots") == 2


async def test_a_priority_that_is_not_an_integer_is_refused(make_engine: MakeEngine) -> None:
    engine = make_engine()
    bad = ResourceRequest(requester="bad", resources={"slots": 1}, priority="high")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="priority = 'high' must be an integer"):
        await engine.acquire(bad)


async def test_a_grant_of_another_engine_is_refused_on_release(make_engine: MakeEngine) -> None:
    first, second = make_engine(), make_engine()
    theirs = await first.acquire(req("a", slots=1))
    await second.acquire(req("b", slots=1))
    with pytest.raises(ValidationError, match="not given out by this engine"):
        await second.release(theirs)
    assert second.free("slots") == 1


async def test_a_large_request_is_not_starved_by_an_endless_stream_of_small_ones(
    make_engine: MakeEngine, events: list[Event]
) -> None:
    engine = make_engine(slots=4, reserve_after=8)
    stop = asyncio.Event()

    async def small_stream(name: str) -> None:
        index = 0
        while not stop.is_set():  # always another one-slot request, so a slot is never free for long
            grant = await engine.acquire(req(f"{name}-{index}", slots=1))
            for _ in range(3):
                await asyncio.sleep(0)
            await engine.release(grant)
            index += 1

    streams = [asyncio.ensure_future(small_stream(f"s{i}")) for i in range(6)]
    await until(lambda: engine.waiting() != [], "the small requests compete")
    big = await asyncio.wait_for(engine.acquire(req("big", slots=4)), DEADLINE)
    stop.set()
    await engine.release(big)
    await asyncio.gather(*streams)
    queued_at = next(
        i for i, e in enumerate(events) if e.topic == "arbitration.waiting" and e.data["requester"] == "big"
    )
    granted_at = next(
        i for i, e in enumerate(events) if e.topic == "arbitration.granted" and e.data["requester"] == "big"
    )
    passed = sum(1 for e in events[queued_at:granted_at] if e.topic == "arbitration.granted")
    assert passed <= 8 + 4, f"{passed} grants passed the large request (reserve_after=8, 4 slots held)"
