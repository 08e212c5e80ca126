"""The Host: lifecycle, components, isolation of broken plugins, events, invoke, profiling."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import (
    CodecSpec,
    ConfigurationError,
    Event,
    HealthCheck,
    HealthStatus,
    HostStateError,
    Invocation,
    ProviderConflictError,
    hookimpl,
)
from symphony.hookspecs.ports import HostContext
from symphony.host import Host, HostState, Settings


class Component:
    def __init__(self, name: str, log: list[str], depends_on: Sequence[str] = (), fail: bool = False) -> None:
        self.name, self.depends_on, self.log, self.fail = name, tuple(depends_on), log, fail

    async def start(self) -> None:
        if self.fail:
            raise RuntimeError(f"{self.name} cannot start")
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")

    async def health_check(self) -> HealthStatus:
        return HealthStatus.ok(self.name)


class Contributes:
    def __init__(self, *components: Component) -> None:
        self.components = list(components)

    @hookimpl
    def symphony_components(self, context: HostContext) -> list[Component]:
        return self.components


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")


def bare_host(settings: Settings, *plugins: object) -> Host:
    return Host(settings, plugins=plugins, discover_plugins=False)


async def test_components_start_in_dependency_order_and_stop_in_reverse(settings: Settings) -> None:
    log: list[str] = []
    plugin = Contributes(Component("bus", log, ["store"]), Component("store", log), Component("dag", log, ["bus"]))
    async with bare_host(settings, plugin) as host:
        assert host.state is HostState.STARTED
    assert log == ["start store", "start bus", "start dag", "stop dag", "stop bus", "stop store"]


async def test_a_component_that_fails_to_start_costs_only_its_plugin_and_dependents(settings: Settings) -> None:
    log: list[str] = []
    broken = Contributes(Component("store", log, fail=True))
    dependent = Contributes(Component("bus", log, ["store"]))
    healthy = Contributes(Component("editor", log))
    host = bare_host(settings, broken, dependent, healthy)
    await host.start()
    states = {c.name: c.state for c in host.components}
    assert states == {"store": "failed", "bus": "skipped", "editor": "running"}
    (record,) = [r for r in host.records if r.status == "failed"]
    assert record.name == "Contributes"
    assert "store" in (record.error or "") and "cannot start" in (record.error or "")
    await host.stop()


async def test_a_dependency_cycle_fails_its_members_and_the_rest_start(settings: Settings) -> None:
    log: list[str] = []
    plugin = Contributes(Component("a", log, ["b"]), Component("b", log, ["a"]), Component("c", log))
    async with bare_host(settings, plugin) as host:
        states = {c.name: (c.state, c.error) for c in host.components}
    assert states["c"][0] == "running"
    assert states["a"][0] == "failed" and "cycle" in (states["a"][1] or "")


async def test_a_component_with_an_unknown_dependency_is_skipped_with_the_reason(settings: Settings) -> None:
    plugin = Contributes(Component("bus", [], ["nowhere"]))
    async with bare_host(settings, plugin) as host:
        (record,) = host.components
    assert record.state == "skipped" and "nowhere" in (record.error or "")


async def test_a_disabled_component_is_not_started(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path, components={"bus": {"enabled": False}})
    log: list[str] = []
    async with bare_host(settings, Contributes(Component("bus", log))):
        pass
    assert log == []


class RaisesInStartup:
    @hookimpl
    async def symphony_startup(self, context: HostContext) -> None:
        raise RuntimeError("no database")


class RaisesInConfigure:
    @hookimpl
    def symphony_configure(self, context: HostContext) -> None:
        raise ValueError("bad option")


async def test_a_plugin_raising_in_startup_is_removed_and_the_host_starts(settings: Settings) -> None:
    host = bare_host(settings, RaisesInStartup())
    await host.start()
    (record,) = [r for r in host.records if r.name == "RaisesInStartup"]
    assert host.state is HostState.STARTED
    assert record.status == "failed" and "no database" in (record.error or "")
    assert host.pm.get_plugin("RaisesInStartup") is None
    await host.stop()


def test_a_plugin_raising_in_configure_is_reported_and_unregistered(settings: Settings) -> None:
    host = bare_host(settings, RaisesInConfigure()).load()
    (record,) = [r for r in host.records if r.name == "RaisesInConfigure"]
    assert record.status == "failed" and "bad option" in (record.error or "")
    assert host.pm.get_plugin("RaisesInConfigure") is None


class TypoHook:
    @hookimpl
    def symphony_helth_checks(self) -> list[HealthCheck]:
        return []


def test_an_implementation_of_an_unknown_hook_fails_its_plugin_naming_the_hook(settings: Settings) -> None:
    host = bare_host(settings, TypoHook()).load()
    (record,) = [r for r in host.records if r.name == "TypoHook"]
    assert record.status == "failed" and "symphony_helth_checks" in (record.error or "")


async def test_a_stopped_host_refuses_to_restart(settings: Settings) -> None:
    host = bare_host(settings)
    async with host:
        pass
    with pytest.raises(HostStateError, match="new one"):
        await host.start()


class Observer:
    def __init__(self) -> None:
        self.topics: list[str] = []

    @hookimpl
    def symphony_event(self, event: Event) -> None:
        self.topics.append(event.topic)


class BrokenObserver:
    @hookimpl
    def symphony_event(self, event: Event) -> None:
        raise RuntimeError("observer bug")


async def test_lifecycle_events_reach_observers_even_beside_a_broken_one(settings: Settings) -> None:
    observer = Observer()
    log: list[str] = []
    async with bare_host(settings, BrokenObserver(), observer, Contributes(Component("bus", log))):
        pass
    assert observer.topics == [
        "host.loaded",
        "host.starting",
        "component.started",
        "host.started",
        "host.stopping",
        "host.stopped",
    ]


class Audit:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl(wrapper=True)
    def symphony_invoke(self, invocation: Invocation) -> Any:
        self.seen.append(invocation.target)
        invocation.attributes["audited"] = True
        result = yield
        return result * 10


async def test_invoke_runs_the_call_inside_every_wrapper(settings: Settings) -> None:
    audit = Audit()
    host = bare_host(settings, audit).load()
    invocation = Invocation(kind="operator", target="double", inputs={"x": 2}, call=lambda inputs: inputs["x"] * 2)
    assert await host.invoke(invocation) == 40
    assert audit.seen == ["double"] and invocation.attributes == {"audited": True}


class Checks:
    @hookimpl
    def symphony_health_checks(self, context: HostContext) -> list[HealthCheck]:
        async def slow() -> HealthStatus:
            await asyncio.sleep(5)
            return HealthStatus.ok()

        def broken() -> HealthStatus:
            raise OSError("disk on fire")

        return [
            HealthCheck(name="fine", check=lambda: HealthStatus.ok("fine")),
            HealthCheck(name="slow", check=slow),
            HealthCheck(name="broken", check=broken),
        ]


async def test_health_reports_failing_and_timed_out_checks_by_name_and_plugin(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path, hooks={"timeout": 0.2})
    async with bare_host(settings, Checks()) as host:
        health = await host.health()
    assert health.checks["fine"].status == "ok"
    assert health.checks["slow"].status == "failed" and "timed out" in health.checks["slow"].message
    assert "disk on fire" in health.checks["broken"].message and "Checks" in health.checks["broken"].message
    assert health.status == "failed"


def test_profiling_off_leaves_implementations_untouched(settings: Settings) -> None:
    observer = Observer()
    host = bare_host(settings, observer).load()
    (impl,) = [i for i in host.pm.hook.symphony_event.get_hookimpls() if i.plugin is observer]
    assert impl.function == observer.symphony_event
    assert host.profiler is None


def test_profiling_on_attributes_calls_to_plugin_and_hook(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path, hooks={"profile": True})
    host = bare_host(settings, Observer()).load()
    host.emit(Event(topic="x", source="test"))
    assert host.profiler is not None
    rows = {(row.plugin, row.hook): row.calls for row in host.profiler.rows()}
    assert rows[("Observer", "symphony_event")] == 2  # host.loaded and x


def test_register_after_load_configures_the_plugin_at_once(settings: Settings) -> None:
    configured: list[HostContext] = []

    class Late:
        @hookimpl
        def symphony_configure(self, context: HostContext) -> None:
            configured.append(context)

    host = bare_host(settings).load()
    record = host.register(Late(), name="late")
    assert record.status == "loaded" and len(configured) == 1
    assert configured[0].component_config("anything").timeout == 30.0


def test_a_plugin_may_reach_ports_while_it_is_configured(settings: Settings) -> None:
    seen: list[object] = []

    class Store:
        @hookimpl(trylast=True)
        def symphony_provide_artifact_store(self, context: HostContext) -> str:
            return "store"

    class Configures:
        @hookimpl
        def symphony_configure(self, context: HostContext) -> None:
            seen.append(context.port("artifact_store"))

    host = bare_host(settings, Store(), Configures()).load()
    assert seen == ["store"] and all(r.status == "loaded" for r in host.records)


def test_an_invalid_environment_value_fails_at_load_with_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMPHONY_HOOKS__TIMEOUT", "abc")
    host = Host(discover_plugins=False)  # constructing reads nothing yet
    with pytest.raises(ConfigurationError, match=r"`hooks.timeout` = 'abc'"):
        host.load()


def test_the_essential_plugin_cannot_be_blocked(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path, plugins={"block": ["symphony-core"]})
    with pytest.raises(ConfigurationError, match="essential"):
        bare_host(settings).load()


async def test_a_stopped_host_no_longer_serves_ports(settings: Settings) -> None:
    host = bare_host(settings)
    async with host:
        pass
    with pytest.raises(HostStateError, match="stopped"):
        host.port("artifact_store")


class NeedsApiTwo:
    SYMPHONY_API = "^2.0"

    @hookimpl
    def symphony_event(self, event: Event) -> None:
        raise AssertionError("never registered")


def test_an_explicit_plugin_needing_another_api_is_refused(settings: Settings) -> None:
    host = bare_host(settings, NeedsApiTwo()).load()
    (record,) = [r for r in host.records if r.name == "NeedsApiTwo"]
    assert record.status == "failed" and "needs Symphony API ^2.0" in (record.error or "")
    assert host.pm.get_plugin("NeedsApiTwo") is None


async def test_components_of_a_plugin_already_taken_out_are_not_started(settings: Settings) -> None:
    log: list[str] = []
    plugin = Contributes(Component("a", log, fail=True), Component("b", log))
    async with bare_host(settings, plugin) as host:
        states = {c.name: (c.state, c.error) for c in host.components}
    assert states["a"][0] == "failed"
    assert states["b"][0] == "skipped" and "failed" in (states["b"][1] or "")
    assert "start b" not in log


class CommandsBroken:
    @hookimpl
    def symphony_register_commands(self, cli: object) -> None:
        raise RuntimeError("bad command")


class CommandsFine:
    @hookimpl
    def symphony_register_commands(self, cli: Any) -> None:
        cli.append("fine")


def test_a_broadcast_call_takes_out_only_the_plugin_that_raised(settings: Settings) -> None:
    host = bare_host(settings, CommandsBroken(), CommandsFine()).load()
    commands: list[str] = []
    outcomes = host.call_each("symphony_register_commands", cli=commands)
    assert commands == ["fine"] and [o.plugin for o in outcomes] == ["CommandsFine"]
    (broken,) = [r for r in host.records if r.name == "CommandsBroken"]
    assert broken.status == "failed" and "bad command" in (broken.error or "")


def codec(name: str) -> CodecSpec:
    return CodecSpec(name=name, content_type="x", encode=bytes, decode=bytes)


class CodecsA:
    @hookimpl
    def symphony_codecs(self, context: HostContext) -> list[CodecSpec]:
        return [codec("json"), codec("cbor")]


class CodecsB:
    @hookimpl
    def symphony_codecs(self, context: HostContext) -> list[CodecSpec]:
        return [codec("json")]


def test_contributions_are_collected_by_name_with_their_plugin(settings: Settings) -> None:
    found = bare_host(settings, CodecsA()).load().contributions("symphony_codecs")
    assert sorted(found) == ["cbor", "json"] and found["json"][0] == "CodecsA"


def test_two_plugins_contributing_one_name_is_a_conflict_naming_both(settings: Settings) -> None:
    host = bare_host(settings, CodecsA(), CodecsB()).load()
    with pytest.raises(ProviderConflictError, match=r"'CodecsB' and 'CodecsA' both contribute 'json'"):
        host.contributions("symphony_codecs")
