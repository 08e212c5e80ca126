"""The seed's scale target: 100+ models hot at once, each in its own worker, each answering."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import MakePool, fake


@pytest.mark.slow
async def test_a_hundred_and_twenty_models_are_all_hot_and_callable_at_once(make_pool: MakePool) -> None:
    names = [f"m{i:03d}" for i in range(120)]
    pool = make_pool(*(fake(name) for name in names), max_hot=200, warm_concurrency=8)
    handles = await asyncio.gather(*(pool.allocate(name) for name in names))
    answers = await asyncio.gather(*(pool.call(handle, "echo", handle.model_id) for handle in handles))
    assert answers == names
    status = pool.status()
    assert {m.state for m in status.models} == {"hot"}
    assert sum(m.instances for m in status.models) == 120
    for handle in handles:
        await pool.release(handle)
