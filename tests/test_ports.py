"""Resolving ports: tiers, conflicts naming both plugins, explicit choice, absence."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.hookspecs import PortUnavailableError, ProviderConflictError, hookimpl
from symphony.hookspecs.ports import HostContext
from symphony.host import Host, Settings


class Store:
    def __init__(self, owner: str) -> None:
        self.owner = owner


def provider(name: str, *, trylast: bool = False) -> object:
    class Provider:
        @hookimpl(trylast=trylast)
        def symphony_provide_artifact_store(self, context: HostContext) -> Store:
            return Store(name)

    Provider.__name__ = name
    return Provider()


class Declines:
    @hookimpl(tryfirst=True)
    def symphony_provide_artifact_store(self, context: HostContext) -> None:
        return None


def host_with(tmp_path: Path, *plugins: object, ports: dict[str, str] | None = None) -> Host:
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path, ports=ports or {})
    return Host(settings, plugins=plugins, discover_plugins=False)


def test_a_normal_provider_replaces_a_trylast_default(tmp_path: Path) -> None:
    host = host_with(tmp_path, provider("builtin", trylast=True), provider("third"))
    assert host.port("artifact_store").owner == "third"


def test_a_provider_that_declines_lets_the_next_tier_answer(tmp_path: Path) -> None:
    host = host_with(tmp_path, Declines(), provider("builtin", trylast=True))
    assert host.port("artifact_store").owner == "builtin"


def test_two_providers_in_one_tier_are_a_conflict_naming_both(tmp_path: Path) -> None:
    host = host_with(tmp_path, provider("alpha"), provider("beta"))
    with pytest.raises(ProviderConflictError, match=r"'beta' and 'alpha' both provide port 'artifact_store'") as info:
        host.port("artifact_store")
    assert set(info.value.plugins) == {"alpha", "beta"}
    assert "ports.artifact_store" in str(info.value)


def test_the_ports_setting_chooses_between_conflicting_providers(tmp_path: Path) -> None:
    host = host_with(tmp_path, provider("alpha"), provider("beta"), ports={"artifact_store": "alpha"})
    assert host.port("artifact_store").owner == "alpha"


def test_the_ports_setting_naming_an_absent_plugin_is_an_error(tmp_path: Path) -> None:
    host = host_with(tmp_path, provider("alpha"), ports={"artifact_store": "gamma"})
    with pytest.raises(PortUnavailableError, match="gamma"):
        host.port("artifact_store")


def test_a_port_nobody_provides_says_which_hook_to_implement(tmp_path: Path) -> None:
    with pytest.raises(PortUnavailableError, match="symphony_provide_dag_tracker"):
        host_with(tmp_path).port("dag_tracker")


def test_an_unknown_port_name_lists_the_ports(tmp_path: Path) -> None:
    with pytest.raises(PortUnavailableError, match="ports are: text_editing"):
        host_with(tmp_path).port("teleporter")


def test_a_port_is_resolved_once(tmp_path: Path) -> None:
    host = host_with(tmp_path, provider("alpha"))
    assert host.port("artifact_store") is host.port("artifact_store")


def test_port_reports_show_provider_or_reason(tmp_path: Path) -> None:
    reports = {r.port: r for r in host_with(tmp_path, provider("alpha")).port_reports()}
    assert reports["artifact_store"].provider == "alpha" and reports["artifact_store"].type == "Store"
    assert reports["conductor"].provider is None and "symphony_provide_conductor" in (reports["conductor"].error or "")


async def test_doctor_counts_a_provider_conflict_as_an_error_not_a_warning(tmp_path: Path) -> None:
    async with host_with(tmp_path, provider("alpha"), provider("beta")) as host:
        health = await host.health()
    (problem,) = [p for p in health.problems if "artifact_store" in p.message]
    assert problem.severity == "error" and "ports.artifact_store" in problem.fix
    assert health.status == "failed"
