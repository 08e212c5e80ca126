"""``port_as``: a caller reaches a port through its Protocol, or learns which plugin lacks which method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import PortUnavailableError, hookimpl
from symphony.hookspecs.ports import DagTrackerPort, HostContext, methods_of, port_as
from symphony.host import Host, Settings


class OldTracker:
    """Written against the port before it had ``wait`` and ``close``; never run, only checked."""

    async def execute(self, workflow: Any, inputs: Any, sink: Any = None) -> str:
        return "run"

    async def status(self, execution_id: str) -> Any:
        return None

    async def cancel(self, execution_id: str) -> None:
        pass

    async def resume(self, execution_id: str, sink: Any = None) -> str:
        return execution_id


class FullTracker(OldTracker):
    async def wait(self, execution_id: str) -> Any:
        return None

    async def close(self) -> None:
        pass


class Provides:
    def __init__(self, tracker: object) -> None:
        self.tracker = tracker

    @hookimpl
    def symphony_provide_dag_tracker(self, context: HostContext) -> object:
        return self.tracker


def host_with(tmp_path: Path, tracker: object) -> Host:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    return Host(settings, plugins=[Provides(tracker)], discover_plugins=False)


def test_the_dag_tracker_port_declares_every_method_its_callers_use() -> None:
    assert methods_of(DagTrackerPort) == ("cancel", "close", "execute", "resume", "status", "wait")


def test_port_as_returns_a_provider_offering_every_method(tmp_path: Path) -> None:
    tracker = FullTracker()

    assert port_as(host_with(tmp_path, tracker).context, "dag_tracker", DagTrackerPort, user="test") is tracker


def test_port_as_names_the_port_the_missing_methods_and_the_plugin(tmp_path: Path) -> None:
    with pytest.raises(PortUnavailableError) as caught:
        port_as(host_with(tmp_path, OldTracker()).context, "dag_tracker", DagTrackerPort, user="`symphony run`")

    message = str(caught.value)
    assert message.startswith("`symphony run` needs dag_tracker.close()")
    assert "'Provides'" in message
    assert "(OldTracker), which has no close(), wait()" in message


def test_port_provider_names_the_plugin_serving_a_port(tmp_path: Path) -> None:
    assert host_with(tmp_path, FullTracker()).context.port_provider("dag_tracker") == "Provides"
