"""Warming, failing to warm, cooling when idle or unloaded: each a real worker process."""

from __future__ import annotations

import asyncio

import pytest

from symphony.hookspecs import Event, ModelUnavailableError, NotFoundError
from tests.lifetime import alive

from .conftest import MakePool, eventually, fake, transitions


async def test_allocating_a_cold_model_warms_it_in_a_worker_and_emits_warming_then_hot(
    make_pool: MakePool, events: list[Event]
) -> None:
    pool = make_pool(fake("m"))
    async with pool.use("m") as handle:
        assert await pool.call(handle, "echo", {"x": [1, 2]}) == {"x": [1, 2]}
        assert await pool.state("m") == "hot"
    assert transitions(events, "m") == ["warming", "hot"]
    assert pool.status().models[0].instances == 1


async def test_status_reports_how_long_the_loader_took(make_pool: MakePool) -> None:
    pool = make_pool(fake("m", load_seconds=0.2))
    assert pool.status().models[0].load_seconds is None
    async with pool.use("m"):
        pass
    assert (pool.status().models[0].load_seconds or 0) >= 0.2


async def test_a_model_that_prints_to_standard_output_still_answers(make_pool: MakePool) -> None:
    pool = make_pool(fake("m", print="loading weights... done"))
    async with pool.use("m") as handle:
        assert await pool.call(handle, "echo", "clean") == "clean"


async def test_a_second_allocation_of_a_hot_model_is_a_hit(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"))
    async with pool.use("m"):
        pass
    async with pool.use("m"):
        pass
    status = pool.status()
    assert (status.allocations, status.hits, status.cold_starts) == (2, 1, 1)


async def test_a_loader_that_raises_sends_the_model_back_to_cold_with_the_cause(
    make_pool: MakePool, events: list[Event]
) -> None:
    pool = make_pool(fake("m", fail="weights are corrupt"))
    with pytest.raises(ModelUnavailableError, match="weights are corrupt"):
        await pool.allocate("m")
    assert transitions(events, "m") == ["warming", "cold"]
    assert "weights are corrupt" in (pool.status().models[0].error or "")
    assert "weights are corrupt" in events[-1].data["error"]


async def test_a_loader_that_hangs_past_warm_timeout_fails_the_warm_up(make_pool: MakePool) -> None:
    pool = make_pool(fake("m", hang=True, spec={"warm_timeout": 0.5}))
    with pytest.raises(ModelUnavailableError, match=r"warm_timeout of 0\.5 s"):
        await pool.allocate("m")
    assert await pool.state("m") == "cold"


async def test_a_worker_that_exits_during_load_fails_the_warm_up_with_its_exit_status(make_pool: MakePool) -> None:
    pool = make_pool(fake("m", exit=3))
    with pytest.raises(ModelUnavailableError, match="exited with status 3"):
        await pool.allocate("m")
    assert await pool.state("m") == "cold"


async def test_a_failed_model_warms_again_on_the_next_allocation(make_pool: MakePool, events: list[Event]) -> None:
    pool = make_pool(fake("m", fail="no"))
    for _ in range(2):
        with pytest.raises(ModelUnavailableError):
            await pool.allocate("m")
    assert transitions(events, "m") == ["warming", "cold", "warming", "cold"]


async def test_an_idle_model_cools_to_cold_after_its_idle_timeout(make_pool: MakePool, events: list[Event]) -> None:
    pool = make_pool(fake("m"), idle_timeout=0.2, health_interval=0.05)
    async with pool.use("m"):
        pass
    await eventually(lambda: pool.status().models[0].state == "cold")
    assert transitions(events, "m") == ["warming", "hot", "cooling", "cold"]
    assert events[-2].data["reason"] == "idle for 0.2 s"


async def test_a_held_model_does_not_cool_however_long_it_is_idle(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"), idle_timeout=0.05, health_interval=0.02)
    handle = await pool.allocate("m")
    await asyncio.sleep(0.2)  # well past the idle timeout
    await pool._tick(1.0)
    assert await pool.state("m") == "hot"
    await pool.release(handle)


async def test_unload_cools_a_hot_model_and_stops_its_worker(make_pool: MakePool, events: list[Event]) -> None:
    pool = make_pool(fake("m"))
    async with pool.use("m") as handle:
        pid = await pool.call(handle, "pid")
    await pool.unload("m")
    assert await pool.state("m") == "cold"
    assert transitions(events, "m") == ["warming", "hot", "cooling", "cold"]
    assert not alive(pid)


async def test_unload_of_a_held_model_cools_it_at_the_last_release(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"))
    handle = await pool.allocate("m")
    await pool.unload("m")
    assert await pool.state("m") == "hot"
    await pool.release(handle)
    await eventually(lambda: pool.status().models[0].state == "cold")


async def test_an_unknown_model_is_not_found_naming_the_known_ones(make_pool: MakePool) -> None:
    pool = make_pool(fake("alpha"), fake("beta"))
    with pytest.raises(NotFoundError, match="unknown model 'gamma'; the pool knows: alpha, beta"):
        await pool.allocate("gamma")


async def test_close_stops_every_worker_and_leaves_every_model_cold(make_pool: MakePool) -> None:
    pool = make_pool(fake("a"), fake("b"))
    pids = []
    for name in ("a", "b"):
        async with pool.use(name) as handle:
            pids.append(await pool.call(handle, "pid"))
    await pool.close()
    assert {m.state for m in pool.status().models} == {"cold"}
    assert not any(alive(pid) for pid in pids)
