"""The ``dag`` plugin in a real host: it provides the port, keeps runs in data_dir, and emits through the host."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import DagTracker
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.builtin_plugins.workflow import load
from symphony.hookspecs import Event, SymphonyError, hookimpl
from symphony.host import Host, Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Observer:
    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def symphony_event(self, event: Event) -> None:
        self.events.append(event)


def host(tmp_path: Path, *plugins: object, **settings: object) -> Host:
    made = Host(
        Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", **settings),  # type: ignore[arg-type]
        plugins=(dag_plugin, orchestra_plugin, artifacts_plugin, *plugins),
        discover_plugins=False,
    )
    made.load()
    return made


async def test_the_host_provides_the_tracker_which_keeps_runs_in_data_dir_and_emits_events(tmp_path: Path) -> None:
    observer = Observer()
    tracker = host(tmp_path, observer).port("dag_tracker")
    assert isinstance(tracker, DagTracker)
    result = await tracker.run(
        load(EXAMPLES / "welcome.toml"), {"user": '{"name": "Ada", "active": true, "plan": "pro"}'}
    )
    await tracker.close()
    assert result.outputs == {"lines": ["Welcome, Ada!", "Thanks for choosing the pro plan."]}
    assert (tmp_path / "data" / "runs.db").is_file()
    topics = [e.topic for e in observer.events if e.source == "dag"]
    assert topics[0] == "run.started" and topics[-1] == "run.succeeded"
    assert topics.count("node.succeeded") == 5


def test_bad_tracker_options_are_an_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(SymphonyError, match=r"`components\.dag\.options\.max_concurrency` = 0: Expected `int` >= 1"):
        host(tmp_path, components={"dag": {"options": {"max_concurrency": 0}}})  # checked as the host loads
