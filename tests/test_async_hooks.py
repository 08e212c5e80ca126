"""Awaitable hook calls: concurrency as the spec says, timeouts and errors naming the plugin."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pluggy
import pytest

from symphony.hookspecs import HookCallError, HookTimeoutError, async_hook, hookimpl, hookspec
from symphony.hookspecs.ports import HostContext
from symphony.host import Host, Settings


@async_hook("sequential")
@hookspec(firstresult=True)
async def symphony_test_pick(choices: list[str]) -> str | None:
    """A test-only sequential firstresult hook, added through symphony_addhooks."""


class TestSpecs:
    symphony_test_pick = staticmethod(symphony_test_pick)


class AddsHooks:
    @hookimpl
    def symphony_addhooks(self, pluginmanager: pluggy.PluginManager) -> None:
        pluginmanager.add_hookspecs(TestSpecs)


def host_with(tmp_path: Path, *plugins: object, timeout: float = 2.0) -> Host:
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path, hooks={"timeout": timeout})
    return Host(settings, plugins=plugins, discover_plugins=False).load()


class Waiter:
    """Finishes only once the Setter has run: deadlocks unless both run concurrently."""

    def __init__(self, flag: asyncio.Event) -> None:
        self.flag = flag

    @hookimpl
    async def symphony_startup(self, context: HostContext) -> str:
        await self.flag.wait()
        return "waited"


class Setter:
    def __init__(self, flag: asyncio.Event) -> None:
        self.flag = flag

    @hookimpl
    async def symphony_startup(self, context: HostContext) -> str:
        await asyncio.sleep(0.01)
        self.flag.set()
        return "set"


async def test_concurrent_hooks_run_their_coroutines_at_the_same_time(tmp_path: Path) -> None:
    flag = asyncio.Event()
    host = host_with(tmp_path, Waiter(flag), Setter(flag), timeout=1.0)
    results = await host.acall("symphony_startup", context=None)
    assert sorted(results) == ["set", "waited"]


class Sleeper:
    @hookimpl
    async def symphony_startup(self, context: HostContext) -> None:
        await asyncio.sleep(10)


async def test_a_hook_that_overruns_its_timeout_is_cancelled_and_named(tmp_path: Path) -> None:
    host = host_with(tmp_path, Sleeper(), timeout=0.1)
    with pytest.raises(HookTimeoutError, match=r"'Sleeper' did not finish symphony_startup within 0.1 s") as info:
        await host.acall("symphony_startup", context=None)
    assert info.value.plugin == "Sleeper" and info.value.hook == "symphony_startup"


async def test_the_call_timeout_overrides_the_setting(tmp_path: Path) -> None:
    host = host_with(tmp_path, Sleeper(), timeout=30)
    with pytest.raises(HookTimeoutError):
        await host.acall("symphony_startup", timeout=0.05, context=None)


class Raiser:
    @hookimpl
    async def symphony_startup(self, context: HostContext) -> None:
        raise KeyError("missing")


async def test_an_implementation_that_raises_is_named_with_the_hook(tmp_path: Path) -> None:
    host = host_with(tmp_path, Raiser())
    with pytest.raises(HookCallError, match=r"Plugin 'Raiser' raised in symphony_startup: KeyError") as info:
        await host.acall("symphony_startup", context=None)
    assert isinstance(info.value.__cause__, KeyError)


class First:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    @hookimpl
    async def symphony_test_pick(self, choices: list[str]) -> str | None:
        self.log.append("first")
        return None


class Second:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    @hookimpl
    async def symphony_test_pick(self, choices: list[str]) -> str | None:
        self.log.append("second")
        return choices[-1]


class Third:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    @hookimpl(trylast=True)
    def symphony_test_pick(self, choices: list[str]) -> str | None:
        self.log.append("third")
        return choices[0]


async def test_a_sequential_firstresult_hook_stops_at_the_first_answer_in_pluggy_order(tmp_path: Path) -> None:
    log: list[str] = []
    host = host_with(tmp_path, AddsHooks(), Third(log), Second(log), First(log))
    assert await host.acall("symphony_test_pick", choices=["a", "b"]) == "b"
    assert log == ["first", "second"]


async def test_sync_implementations_may_answer_async_hooks(tmp_path: Path) -> None:
    log: list[str] = []
    host = host_with(tmp_path, AddsHooks(), Third(log))
    assert await host.acall("symphony_test_pick", choices=["a", "b"]) == "a"
