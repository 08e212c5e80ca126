"""Within a priority class, users share by weight and a user's runs share equally; quotas cap what one holds."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from symphony.builtin_plugins.pit.arbitration import ArbitrationEngine
from symphony.builtin_plugins.pit.arbitration.queue import MAX_IDLE_CLASSES, MAX_IDLE_USERS
from symphony.hookspecs import Event, ValidationError
from symphony.hookspecs.ports import ResourceGrant, ResourceRequest

from .conftest import MakeEngine, queued, req


async def grant_order(
    engine: ArbitrationEngine, events: list[Event], requests: list[ResourceRequest], grants: int
) -> list[ResourceRequest]:
    """Queue ``requests`` behind a held slot, then hand the slot on ``grants`` times; the granted requests in order."""
    by_name = {r.requester: r for r in requests}
    grant = await engine.acquire(req("holder", slots=1, user="nobody"))
    tasks = {r.requester: asyncio.ensure_future(engine.acquire(r)) for r in requests}
    await asyncio.sleep(0)
    events.clear()
    for _ in range(grants):
        await engine.release(grant)
        granted = [e for e in events if e.topic == "arbitration.granted"][-1].data["requester"]
        grant = await tasks.pop(granted)
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    return [by_name[e.data["requester"]] for e in events if e.topic == "arbitration.granted"]


async def test_two_users_weighted_two_to_one_get_a_contended_slot_two_to_one(
    make_engine: MakeEngine, events: list[Event]
) -> None:
    engine = make_engine(slots=1, weights={"alice": 2.0})
    requests = [req(f"{user}-{i}", slots=1, user=user) for i in range(60) for user in ("alice", "bob")]
    granted = await grant_order(engine, events, requests, 60)
    shares = Counter(r.user for r in granted)
    assert 38 <= shares["alice"] <= 42 and 18 <= shares["bob"] <= 22, shares


async def test_a_users_runs_share_its_turns_equally_whatever_order_they_queued_in(
    make_engine: MakeEngine, events: list[Event]
) -> None:
    engine = make_engine(slots=1)
    early = [req(f"early-{i}", slots=1, user="alice", run="early") for i in range(20)]
    late = [req(f"late-{i}", slots=1, user="alice", run="late") for i in range(20)]
    granted = await grant_order(engine, events, early + late, 20)
    shares = Counter(r.run_id for r in granted)
    assert 9 <= shares["late"] <= 11, shares


async def test_users_are_charged_by_their_dominant_share_so_equal_slot_needs_share_equally(
    make_engine: MakeEngine, events: list[Event]
) -> None:
    engine = make_engine(slots=1, memory=100)
    big = [req(f"big-{i}", slots=1, memory=50, user="big") for i in range(10)]
    small = [req(f"small-{i}", slots=1, memory=1, user="small") for i in range(10)]
    granted = await grant_order(engine, events, big + small, 10)
    assert Counter(r.user for r in granted) == {"big": 5, "small": 5}, "one slot is each grant's dominant share"


async def test_a_user_at_its_quota_waits_while_other_users_are_granted(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=8, user_quotas={"bob": {"slots": 2}})
    held = [await engine.acquire(req(f"bob-{i}", slots=1, user="bob")) for i in range(2)]
    third = await queued(engine, req("bob-2", slots=1, user="bob"))
    alice = await engine.acquire(req("alice-0", slots=4, user="alice"))
    assert alice.resources == {"slots": 4.0}
    explanation = engine.explain("bob-2")
    assert explanation is not None and explanation.reason.startswith("quota: user 'bob' holds 2 of 2 slots")
    assert explanation.lacking == {"slots": 1.0} and explanation.behind == ["bob-0", "bob-1"]
    await engine.release(held[0])
    assert (await third).requester == "bob-2"


async def test_a_default_run_quota_caps_every_run(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=8, run_quotas={"*": {"slots": 1}})
    await engine.acquire(req("r1/a", slots=1, run="r1"))
    await engine.acquire(req("r2/a", slots=1, run="r2"))
    waiting = await queued(engine, req("r1/b", slots=1, run="r1"))
    explanation = engine.explain("r1/b")
    assert explanation is not None and explanation.reason.startswith("quota: run 'r1' holds 1 of 1 slots")
    waiting.cancel()


async def test_a_request_over_its_quota_on_its_own_is_refused_at_once(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=8, user_quotas={"*": {"slots": 2}})
    with pytest.raises(ValidationError, match="slots = 3 exceeds user 'carol''s quota of 2"):
        await engine.acquire(req("carol-big", slots=3, user="carol"))


async def test_a_quota_blocked_request_does_not_hold_up_other_users(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=4, user_quotas={"bob": {"slots": 1}}, reserve_after=0)
    await engine.acquire(req("bob-0", slots=1, user="bob"))
    blocked = await queued(engine, req("bob-1", slots=1, user="bob"))
    grant: ResourceGrant = await engine.acquire(req("alice-0", slots=3, user="alice"))
    assert grant.resources == {"slots": 3.0}
    blocked.cancel()


async def test_a_stream_of_one_off_users_does_not_grow_the_engines_memory(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=1)
    for index in range(20_000):
        await engine.release(await engine.acquire(req(f"once-{index}", slots=1, user=f"user-{index}")))
    remembered = sum(len(group.users) for group in engine._queue._classes.values())
    assert remembered <= MAX_IDLE_USERS + 1024, remembered


async def test_a_stream_of_one_off_priorities_does_not_grow_the_engines_memory(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=1)
    for index in range(5_000):
        await engine.release(await engine.acquire(req(f"once-{index}", slots=1, priority=index)))
    assert len(engine._queue._classes) <= MAX_IDLE_CLASSES + 1024
