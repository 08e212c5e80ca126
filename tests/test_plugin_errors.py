"""A plugin's own error (a SymphonyError, ConfigurationError above all) reaches users as the plugin wrote it.

Its message is written for them, so it is shown as is with the plugin named once;
any other exception is a bug and keeps its type (its repr).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.hookspecs import ConfigurationError, HookCallError, hookimpl
from symphony.hookspecs.ports import HostContext
from symphony.host import Host, Settings

MESSAGE = "components.sample.options.size = -1 must be positive; set it to a number of bytes."


class RejectsItsOptions:
    @hookimpl
    def symphony_configure(self, context: HostContext) -> None:
        raise ConfigurationError(MESSAGE)


class BrokenProvider:
    @hookimpl(tryfirst=True)
    def symphony_provide_message_bus(self, context: HostContext) -> object:
        raise ConfigurationError(MESSAGE)


class Buggy:
    @hookimpl
    def symphony_configure(self, context: HostContext) -> None:
        raise KeyError("size")


def host_with(tmp_path: Path, plugin: object) -> Host:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    return Host(settings, plugins=[plugin], discover_plugins=False).load()


async def test_a_configuration_error_in_configure_is_reported_with_the_plugins_message(tmp_path: Path) -> None:
    host = host_with(tmp_path, RejectsItsOptions())
    (record,) = [r for r in host.records if r.name == "RejectsItsOptions"]
    assert record.error == f"symphony_configure: {MESSAGE}"
    (problem,) = [p.message for p in (await host.health()).problems if "RejectsItsOptions" in p.message]
    assert problem == f"Plugin 'RejectsItsOptions' failed: symphony_configure: {MESSAGE}"


def test_a_configuration_error_of_a_provider_names_the_plugin_once_and_keeps_its_message(tmp_path: Path) -> None:
    host = host_with(tmp_path, BrokenProvider())
    with pytest.raises(HookCallError) as raised:
        host.port("message_bus")
    assert str(raised.value) == f"Plugin 'BrokenProvider' raised in symphony_provide_message_bus: {MESSAGE}"


def test_any_other_exception_keeps_its_type(tmp_path: Path) -> None:
    host = host_with(tmp_path, Buggy())
    (record,) = [r for r in host.records if r.name == "Buggy"]
    assert record.error == "symphony_configure raised KeyError('size')"
