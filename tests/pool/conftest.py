"""Pools over the fake-cost models of benchmarks/pool_models.py, closed after each test (no worker outlives it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from symphony.builtin_plugins.pit.pool.options import PoolOptions
from symphony.builtin_plugins.pit.pool.pool import Pool
from symphony.hookspecs import Event, ModelSpec

LOADER = "benchmarks.pool_models:load"

MakePool = Callable[..., Pool]


def fake(name: str, **config: Any) -> ModelSpec:
    """A fake-cost model; ``spec_options`` (sharing, instances, warm_timeout, idle_timeout) go to the spec."""
    spec_options = config.pop("spec", {})
    return ModelSpec(name=name, loader=LOADER, config=config, **spec_options)


async def eventually(condition: Callable[[], bool], deadline: float = 30.0) -> None:
    """Poll ``condition`` until it holds; fail after ``deadline`` seconds (generous: the other core may be busy)."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            pytest.fail("condition not reached before the deadline")
        await asyncio.sleep(0.01)


async def until(condition: Callable[[], Awaitable[bool]], deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while not await condition():
        if time.monotonic() > end:
            pytest.fail("condition not reached before the deadline")
        await asyncio.sleep(0.01)


@pytest.fixture
def events() -> list[Event]:
    return []


@pytest.fixture
async def make_pool(events: list[Event]) -> AsyncIterator[MakePool]:
    """``make_pool(*specs, **options)``: a pool of those models, with every event it emits in ``events``."""
    pools: list[Pool] = []

    def make(*specs: ModelSpec, **options: Any) -> Pool:
        pool = Pool({spec.name: spec for spec in specs}, PoolOptions(**options), emit=events.append)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.close()


def transitions(events: list[Event], model: str) -> list[str]:
    return [
        e.topic.rpartition(".")[2] for e in events if e.topic.startswith("pool.model.") and e.data["model"] == model
    ]
