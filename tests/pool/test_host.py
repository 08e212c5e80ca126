"""The pool inside a real host: the builtin arbitration engine is asked before warming, and stop closes the pool."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psutil
import pytest

from symphony.hookspecs import ModelSpec, ModelUnavailableError, hookimpl
from symphony.hookspecs.ports import HostContext
from symphony.host import Host, Settings

from .conftest import LOADER, eventually


class TwoModels:
    @hookimpl
    def symphony_models(self, context: HostContext) -> list[ModelSpec]:
        broken = ModelSpec(name="broken", loader=LOADER, config={"fail": "no weights"})
        return [ModelSpec(name=name, loader=LOADER) for name in ("first", "second")] + [broken]


def _host(tmp_path: Path, **components: Any) -> Host:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", components=components)
    return Host(settings, plugins=[TwoModels()], discover_plugins=True)


async def test_a_warm_up_waits_for_the_arbitration_engine_to_grant_a_model_slot(tmp_path: Path) -> None:
    async with _host(tmp_path, arbitration={"options": {"capacity": {"models": 1}}}) as host:
        pool, engine = host.port("pool_manager"), host.port("arbitration_engine")
        async with pool.use("first"):
            pass
        second = asyncio.ensure_future(pool.allocate("second"))
        await eventually(lambda: [w.requester for w in engine.waiting()] == ["pool:warm:second"])
        explanation = engine.explain("pool:warm:second")
        assert explanation is not None
        assert (explanation.lacking, explanation.behind) == ({"models": 1.0}, ["pool:warm:first"])
        assert await pool.state("second") == "warming"
        await pool.unload("first")  # cold: its grant goes back, and second may warm
        await pool.release(await second)
        assert await pool.state("second") == "hot"


async def test_stopping_the_host_closes_the_pool_and_ends_its_workers(tmp_path: Path) -> None:
    host = _host(tmp_path)
    async with host:
        pool = host.port("pool_manager")
        async with pool.use("first") as handle:
            pid = await pool.call(handle, "pid")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_a_model_that_failed_to_warm_degrades_the_pools_health_with_the_cause(tmp_path: Path) -> None:
    async with _host(tmp_path) as host:
        pool = host.port("pool_manager")
        with pytest.raises(ModelUnavailableError):
            await pool.allocate("broken")
        health = (await host.health()).components["pool"]
    assert health.status == "degraded"
    assert "failed to warm: broken (" in health.message
    assert "raised RuntimeError: no weights" in health.message
