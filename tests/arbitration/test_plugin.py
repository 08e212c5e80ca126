"""The ``arbitration`` plugin provides the port through a real host, from its settings, with a health check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.pit.arbitration import ArbitrationEngine
from symphony.builtin_plugins.pit.arbitration import plugin as arbitration_plugin
from symphony.hookspecs import ConfigurationError, Event, hookimpl
from symphony.hookspecs.ports import ArbitrationEnginePort, ResourceRequest
from symphony.host import Host, Settings


class Watches:
    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def symphony_event(self, event: Event) -> None:
        if event.topic.startswith("arbitration."):
            self.events.append(event)


def host(tmp_path: Path, *plugins: object, **options: Any) -> Host:
    settings = Settings(
        data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", components={"arbitration": {"options": options}}
    )
    return Host(settings, plugins=(arbitration_plugin, *plugins), discover_plugins=False)


async def test_the_plugin_provides_the_port_with_the_configured_capacity(tmp_path: Path) -> None:
    async with host(tmp_path, capacity={"slots": 3, "memory": "4GiB", "gpu": 1}) as running:
        engine = running.context.port("arbitration_engine")
        assert isinstance(engine, ArbitrationEnginePort) and isinstance(engine, ArbitrationEngine)
        assert engine.total("slots") == 3 and engine.total("memory") == 4 * 2**30 and engine.total("gpu") == 1
        assert engine.total("models") == 256, "models always exists with its default"


async def test_grants_and_releases_are_published_as_events_on_the_host(tmp_path: Path) -> None:
    watcher = Watches()
    async with host(tmp_path, watcher, budgets={"openai-tokens": {"limit": 1000, "period": 60}}) as running:
        engine = running.context.port("arbitration_engine")
        grant = await engine.acquire(
            ResourceRequest(requester="r/n", resources={"slots": 1, "budget:openai-tokens": 10}, user="u", run_id="r")
        )
        await engine.release(grant)
    granted, released = watcher.events
    assert granted.topic == "arbitration.granted" and granted.source == "arbitration"
    assert granted.data["requester"] == "r/n" and granted.data["run_id"] == "r" and granted.data["waited"] == 0.0
    assert released.topic == "arbitration.released" and released.data["grant_id"] == granted.data["grant_id"]


async def test_the_health_check_reports_the_engines_counters(tmp_path: Path) -> None:
    async with host(tmp_path, capacity={"slots": 2}) as running:
        engine = running.context.port("arbitration_engine")
        await engine.acquire(ResourceRequest(requester="a", resources={"slots": 1}))
        health = await running.health()
    check = health.checks["arbitration"]
    assert check.status == "ok" and check.message == "1 grant(s) held, 0 waiting"
    assert check.details["grants"] == 1 and check.details["free"]["slots"] == 1


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"capasity": {}}, "did you mean `components.arbitration.options.capacity`?"),
        ({"capacity": {"memory": "lots"}}, "'lots' is not an amount"),
        ({"capacity": {"slots": -2}}, "must be a finite amount >= 0"),
        ({"quotas": {"bob": {"slots": 1}}}, "key 'bob' must be 'user:<name>'"),
        ({"quotas": {"user:bob": {"gpu": 1}}}, "unknown resource 'gpu'"),
        ({"budgets": {"x": {"limit": 0}}}, "Expected `float` > 0.0"),
    ],
)
async def test_bad_options_are_a_configuration_error_naming_the_key(
    tmp_path: Path, options: dict[str, Any], expected: str
) -> None:
    with pytest.raises(Exception) as raised:  # the host checks the table's shape as it loads, the engine the values
        async with host(tmp_path, **options) as running:
            running.context.port("arbitration_engine")
    error = raised.value
    while not isinstance(error, ConfigurationError) and error.__cause__ is not None:
        error = error.__cause__  # type: ignore[assignment]
    assert expected in str(error), str(raised.value)
