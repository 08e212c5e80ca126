"""The lifecycle hooks, as a plugin author relies on them: order, isolation, late registration."""

from __future__ import annotations

import types
from collections.abc import Sequence

from symphony.hookspecs import ConfigurationError, HealthStatus, hookimpl, hookspec
from symphony.hookspecs.ports import AsyncComponent, HostContext

from .conftest import MakeHost


@hookspec
def symphony_greet(name: str) -> str:  # type: ignore[empty-body]
    """A hook one plugin adds for others to implement."""


class AddsAHook:
    @hookimpl
    def symphony_addhooks(self, pluginmanager: object) -> None:
        specs = types.ModuleType("greet_specs")
        specs.symphony_greet = symphony_greet  # type: ignore[attr-defined]
        pluginmanager.add_hookspecs(specs)  # type: ignore[attr-defined]


class Greets:
    @hookimpl
    def symphony_greet(self, name: str) -> str:
        return f"hello {name}"


def test_symphony_addhooks_adds_a_hook_that_plugins_registered_later_implement(make_host: MakeHost) -> None:
    host = make_host(AddsAHook(), Greets()).load()
    assert host.pm.hook.symphony_greet(name="Ada") == ["hello Ada"]
    assert all(record.status == "loaded" for record in host.records)


class RefusesItsSettings:
    @hookimpl
    def symphony_configure(self, context: HostContext) -> None:
        raise ConfigurationError("components.refuses.options.size must be positive")


class Configured:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def symphony_configure(self, context: HostContext) -> None:
        self.seen.append(str(context.data_dir))


def test_symphony_configure_failure_takes_out_only_that_plugin(make_host: MakeHost) -> None:
    configured = Configured()
    host = make_host(RefusesItsSettings(), configured).load()
    status = {record.name: (record.status, record.error or "") for record in host.records}
    assert status["RefusesItsSettings"][0] == "failed"
    assert "size must be positive" in status["RefusesItsSettings"][1]
    assert status["Configured"] == ("loaded", "")
    assert configured.seen == [str(host.settings.data_dir)]


def test_symphony_configure_reaches_a_plugin_registered_after_loading(make_host: MakeHost) -> None:
    host = make_host().load()
    late = Configured()
    record = host.register(late, name="late")
    assert record.status == "loaded" and late.seen == [str(host.settings.data_dir)]


class Step:
    """A component recording when it starts and stops in a shared journal."""

    def __init__(self, name: str, journal: list[str], depends_on: Sequence[str] = ()) -> None:
        self.name, self.journal = name, journal
        self.depends_on: Sequence[str] = tuple(depends_on)

    async def start(self) -> None:
        self.journal.append(f"start {self.name}")

    async def stop(self) -> None:
        self.journal.append(f"stop {self.name}")

    async def health_check(self) -> HealthStatus:
        return HealthStatus.ok()


class Lifecycle:
    def __init__(self, journal: list[str]) -> None:
        self.journal = journal

    @hookimpl
    def symphony_components(self, context: HostContext) -> list[AsyncComponent]:
        # Listed out of order: the host orders them by depends_on.
        return [Step("api", self.journal, ["store"]), Step("store", self.journal)]

    @hookimpl
    async def symphony_startup(self, context: HostContext) -> None:
        self.journal.append("startup")

    @hookimpl
    async def symphony_shutdown(self, context: HostContext) -> None:
        self.journal.append("shutdown")


async def test_symphony_components_start_in_dependency_order_and_stop_in_reverse(make_host: MakeHost) -> None:
    journal: list[str] = []
    async with make_host(Lifecycle(journal)):
        pass
    starts = [entry for entry in journal if entry.startswith("start ")]
    stops = [entry for entry in journal if entry.startswith("stop ")]
    assert starts == ["start store", "start api"]
    assert stops == ["stop api", "stop store"]


async def test_symphony_startup_runs_once_every_component_has_started(make_host: MakeHost) -> None:
    journal: list[str] = []
    async with make_host(Lifecycle(journal)):
        assert journal == ["start store", "start api", "startup"]


async def test_symphony_shutdown_runs_before_any_component_stops(make_host: MakeHost) -> None:
    journal: list[str] = []
    async with make_host(Lifecycle(journal)):
        journal.clear()
    assert journal == ["shutdown", "stop api", "stop store"]
