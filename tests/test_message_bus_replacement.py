"""A distribution replaces the message bus through its port: the host and ``symphony bus serve`` use it.

The ``own-message-bus`` test distribution (really installed) provides a bus of
its own, selected by its distro profile; it logs its lifecycle calls and
routed requests to ``DATA_DIR/own-message-bus.log``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from symphony.builtin_plugins.ipc.bus import plugin as bus_plugin
from symphony.hookspecs import EndpointId, Event, MessageEnvelope, TransportError, hookimpl
from symphony.hookspecs.ports import Handler, HostContext, Subscription
from symphony.host import Host, Settings
from tests.replacing import Replacement, serving_fixture

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Symphony


REPLACEMENT = Replacement("own-message-bus")
cli = REPLACEMENT.cli_fixture()
calls = REPLACEMENT.calls
served = serving_fixture("bus")


@pytest.mark.slow
def test_bus_serve_routes_requests_through_the_replacement(
    cli: Symphony, served: tuple[subprocess.Popen[str], str]
) -> None:
    _, address = served

    result = cli.run("bus", "request", address, "hello", "--to", "echo", "--param", "n=3")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"method": "hello", "params": {"n": 3}}
    assert [call["method"] for call in calls(cli)] == ["start", "register_endpoint", "request"]
    assert calls(cli)[-1]["recipient"] == "echo"


@pytest.mark.slow
def test_bus_serve_ping_lists_the_replacements_endpoints(
    cli: Symphony, served: tuple[subprocess.Popen[str], str]
) -> None:
    _, address = served

    result = cli.run("bus", "request", address, "ping")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["endpoints"] == ["echo"]


@pytest.mark.slow
def test_bus_serve_stops_the_replacement_when_it_ends(cli: Symphony, served: tuple[subprocess.Popen[str], str]) -> None:
    process, _ = served

    process.terminate()

    assert process.wait(30) == 0
    assert [call["method"] for call in calls(cli)][-1] == "stop"


@pytest.mark.slow
def test_the_host_starts_stops_and_checks_the_replacement(cli: Symphony) -> None:
    health = cli.json("doctor")

    assert health["distro"] == "own-bus"
    assert health["components"]["message_bus"]["status"] == "ok"
    assert "served by plugin 'own-message-bus'" in health["checks"]["message_bus"]["message"]
    assert [call["method"] for call in calls(cli)] == ["start", "stop"]


class PublishingBus:
    """A replacement bus that only remembers what was published on it while running."""

    def __init__(self) -> None:
        self.running = False
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False

    def register_endpoint(self, endpoint_id: EndpointId, handler: Handler) -> None:
        pass

    def unregister_endpoint(self, endpoint_id: EndpointId) -> None:
        pass

    def endpoints(self) -> list[EndpointId]:
        return []

    async def send(self, envelope: MessageEnvelope) -> None:
        pass

    async def request(self, envelope: MessageEnvelope, timeout: float) -> MessageEnvelope:
        raise TransportError("no endpoints")

    async def publish(self, topic: str, data: dict[str, Any]) -> int:
        self.published.append((topic, data))
        return 0

    def subscribe(self, pattern: str, handler: Handler) -> Subscription:
        raise TransportError("no subscriptions")


class ProvidesBus:
    def __init__(self, bus: PublishingBus) -> None:
        self.bus = bus

    @hookimpl
    def symphony_provide_message_bus(self, context: HostContext) -> PublishingBus:
        return self.bus


async def test_host_events_are_republished_on_a_replacement_bus(tmp_path: Path) -> None:
    bus = PublishingBus()
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")

    async with Host(settings, plugins=[bus_plugin, ProvidesBus(bus)], discover_plugins=False) as host:
        host.emit(Event(topic="test.hello", source="test", data={"n": 1}))
        async with asyncio.timeout(30):
            while ("test.hello", {"n": 1}) not in bus.published:
                await asyncio.sleep(0.01)
