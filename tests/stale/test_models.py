"""The ``models`` source: hot models no handle holds, unused past their idle timeout, cooled through the pool port."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from symphony.builtin_plugins.pit.pool import plugin as pool_plugin
from symphony.builtin_plugins.pit.pool.stale import models_source
from symphony.hookspecs import ModelSpec, hookimpl
from symphony.hookspecs.ports import HostContext
from symphony.host import Host

from .conftest import MakeHost

LOADER = "benchmarks.pool_models:load"
HOUR = 3600.0


class Models:
    @hookimpl
    def symphony_models(self, context: HostContext) -> list[ModelSpec]:
        return [
            ModelSpec(name="pooled-default", loader=LOADER),  # the pool's idle_timeout (300 s)
            ModelSpec(name="own-timeout", loader=LOADER, idle_timeout=2 * HOUR),
        ]


@pytest.fixture
async def host(make_host: MakeHost) -> AsyncIterator[Host]:
    made = make_host(pool_plugin, Models())
    async with made:
        yield made


async def warm(host: Host, *models: str) -> None:
    pool = host.port("pool_manager")
    for model in models:
        async with pool.use(model):
            pass


async def test_a_hot_model_unused_past_its_idle_timeout_is_stale_and_one_within_it_is_not(host: Host) -> None:
    await warm(host, "pooled-default", "own-timeout")
    source = models_source(host.context, clock=lambda: time.time() + HOUR)  # an hour on: past 300 s, within 2 h
    [item] = source.find()  # type: ignore[misc]
    assert (item.kind, item.key) == ("model", "pooled-default")
    assert "past its idle timeout of 300 s" in item.reason


async def test_a_model_in_use_is_never_stale(host: Host) -> None:
    pool = host.port("pool_manager")
    async with pool.use("pooled-default"):
        assert models_source(host.context, clock=lambda: time.time() + HOUR).find() == []


async def test_reclaiming_unloads_the_idle_model_and_a_second_find_is_empty(host: Host) -> None:
    await warm(host, "pooled-default")
    source = models_source(host.context, clock=lambda: time.time() + HOUR)
    reclaimed = await source.reclaim(source.find())  # type: ignore[arg-type,misc]
    assert [item.key for item in reclaimed] == ["pooled-default"]
    assert await host.port("pool_manager").state("pooled-default") == "cold"
    assert source.find() == []


async def test_the_pool_plugin_contributes_the_source_which_reports_no_model_within_its_timeout(host: Host) -> None:
    await warm(host, "pooled-default")
    assert host.contributions("symphony_stale_sources")["models"][0] == pool_plugin.__name__
    report = await host.port("stale_manager").report()
    assert [item for item in report.items if item.source == "models"] == []
    assert "models" not in report.errors
