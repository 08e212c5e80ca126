"""Shared and exclusive handles, and handles the pool did not give out."""

from __future__ import annotations

import asyncio

import pytest

from symphony.hookspecs import ValidationError
from symphony.hookspecs.ports import ModelHandle

from .conftest import MakePool, eventually, fake


async def test_a_shared_model_is_held_by_many_callers_at_once_in_one_worker(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"))
    handles = [await pool.allocate("m") for _ in range(5)]
    pids = await asyncio.gather(*(pool.call(handle, "pid") for handle in handles))
    assert len(set(pids)) == 1
    assert pool.status().models[0].handles == 5
    for handle in handles:
        await pool.release(handle)


async def test_shared_callers_run_concurrently_in_the_worker(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"))
    handles = [await pool.allocate("m") for _ in range(2)]
    first = asyncio.ensure_future(pool.call(handles[0], "sleep", 600))
    # A deadline, not a speed check: run one at a time, the echo would wait the whole 600 s.
    assert await asyncio.wait_for(pool.call(handles[1], "echo", "not blocked"), 60) == "not blocked"
    first.cancel()
    for handle in handles:
        await pool.release(handle)


async def test_an_exclusive_model_has_one_holder_and_the_others_wait_in_order(make_pool: MakePool) -> None:
    pool = make_pool(fake("m", spec={"sharing": "exclusive"}))
    first = await pool.allocate("m")
    order: list[str] = []

    async def take(name: str) -> None:
        async with pool.use("m"):
            order.append(name)

    waiting = [asyncio.ensure_future(take(name)) for name in ("second", "third")]
    await asyncio.sleep(0.05)
    assert order == []
    await pool.release(first)
    await asyncio.gather(*waiting)
    assert order == ["second", "third"]


async def test_an_exclusive_model_with_two_instances_serves_two_holders_in_two_workers(make_pool: MakePool) -> None:
    pool = make_pool(fake("m", spec={"sharing": "exclusive", "instances": 2}))
    one, two = await pool.allocate("m"), await pool.allocate("m")
    assert await pool.call(one, "pid") != await pool.call(two, "pid")
    assert pool.status().models[0].instances == 2
    await pool.release(one)
    await pool.release(two)


async def test_a_cancelled_exclusive_waiter_does_not_keep_the_model(make_pool: MakePool) -> None:
    pool = make_pool(fake("m", spec={"sharing": "exclusive"}))
    first = await pool.allocate("m")
    waiter = asyncio.ensure_future(pool.allocate("m"))
    await asyncio.sleep(0.05)
    waiter.cancel()
    await pool.release(first)
    async with pool.use("m"):
        await eventually(lambda: pool.status().models[0].handles == 1)


async def test_releasing_a_handle_twice_is_a_validation_error(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"))
    handle = await pool.allocate("m")
    await pool.release(handle)
    with pytest.raises(ValidationError, match="already released"):
        await pool.release(handle)


async def test_calling_with_a_handle_the_pool_did_not_give_out_is_a_validation_error(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"))
    forged = ModelHandle(model_id="m", handle_id="m#999", state="hot")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not held"):
        await pool.call(forged, "echo", 1)


async def test_use_releases_the_handle_when_the_body_raises(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"))
    with pytest.raises(RuntimeError):
        async with pool.use("m"):
            raise RuntimeError("body failed")
    assert pool.status().models[0].handles == 0


async def test_a_model_method_that_raises_fails_the_call_not_the_worker(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"))
    async with pool.use("m") as handle:
        with pytest.raises(Exception, match="no method 'missing'"):
            await pool.call(handle, "missing")
        assert await pool.call(handle, "echo", 2) == 2
    assert pool.status().failures == 0
