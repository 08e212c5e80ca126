"""Prewarming: from callers (the DAG tracker's lookahead) and from recent history."""

from __future__ import annotations

import asyncio

import pytest

from symphony.hookspecs import Event, NotFoundError

from .conftest import MakePool, eventually, fake, transitions


async def test_prewarm_warms_a_cold_model_without_waiting_for_it(make_pool: MakePool, events: list[Event]) -> None:
    pool = make_pool(fake("m", load_seconds=0.2))
    await pool.prewarm("m", reason="lookahead of run r1")
    assert await pool.state("m") == "warming"
    assert events[-1].data["reason"] == "predicted: lookahead of run r1"
    await eventually(lambda: pool.status().models[0].state == "hot")


async def test_an_allocation_after_a_prewarm_counts_as_a_prewarm_hit(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"))
    await pool.prewarm("m", reason="lookahead")
    async with pool.use("m"):
        pass
    status = pool.status()
    assert (status.predictions, status.prewarm_hits, status.cold_starts) == (1, 1, 0)
    assert status.models[0].prewarms == 1


async def test_prewarm_of_an_unknown_model_is_not_found(make_pool: MakePool) -> None:
    with pytest.raises(NotFoundError):
        await make_pool(fake("m")).prewarm("other")


async def test_a_frequently_used_model_evicted_for_room_is_warmed_again_when_room_returns(
    make_pool: MakePool, events: list[Event]
) -> None:
    pool = make_pool(fake("often"), fake("once"), max_hot=1)
    for _ in range(3):
        async with pool.use("often"):
            pass
    handle = await pool.allocate("once")  # evicts "often"
    await eventually(lambda: transitions(events, "often")[-1:] == ["cold"])
    await pool.release(handle)
    await pool.unload("once")  # room again: history says "often" will be wanted
    await eventually(lambda: transitions(events, "often")[-1:] == ["hot"])
    assert pool.status().predictions == 1
    assert any(e.data.get("reason") == "predicted: history: used often recently" for e in events)


async def test_a_model_that_cooled_because_it_was_idle_is_not_predicted(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"), idle_timeout=0.1, health_interval=0.05)
    for _ in range(3):
        async with pool.use("m"):
            pass
    await eventually(lambda: pool.status().models[0].state == "cold")
    await pool._tick(1.0)
    assert pool.status().predictions == 0


async def test_a_prewarm_while_the_model_cools_warms_it_again_once_it_is_cold(
    make_pool: MakePool, events: list[Event]
) -> None:
    pool = make_pool(fake("m"))
    async with pool.use("m"):
        pass
    unloading = asyncio.ensure_future(pool.unload("m"))
    await asyncio.sleep(0)  # unload runs until it waits for its workers to stop
    assert await pool.state("m") == "cooling"
    await pool.prewarm("m", reason="lookahead")
    await unloading
    await eventually(lambda: pool.status().models[0].state == "hot")
    assert transitions(events, "m") == ["warming", "hot", "cooling", "cold", "warming", "hot"]
