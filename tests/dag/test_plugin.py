"""The ``dag`` plugin in a real host: it provides the port, records runs in the data service, emits through the host."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.builtin_plugins.data import plugin as data_plugin
from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import DagTracker
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.builtin_plugins.workflow import load
from symphony.hookspecs import Event, ExecutionId, SymphonyError, hookimpl
from symphony.host import Host, Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Observer:
    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def symphony_event(self, event: Event) -> None:
        self.events.append(event)


def host(tmp_path: Path, *plugins: object, data: bool = True, **settings: object) -> Host:
    made = Host(
        Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", **settings),  # type: ignore[arg-type]
        plugins=(dag_plugin, orchestra_plugin, artifacts_plugin, *((data_plugin,) if data else ()), *plugins),
        discover_plugins=False,
    )
    made.load()
    return made


async def test_the_host_provides_the_tracker_which_records_runs_in_the_data_service_and_emits_events(
    tmp_path: Path,
) -> None:
    observer = Observer()
    made = host(tmp_path, observer)
    tracker = made.port("dag_tracker")
    assert isinstance(tracker, DagTracker)
    result = await tracker.run(
        load(EXAMPLES / "welcome.toml"), {"user": '{"name": "Ada", "active": true, "plan": "pro"}'}
    )
    await tracker.close()
    assert result.outputs == {"lines": ["Welcome, Ada!", "Thanks for choosing the pro plan."]}
    recorded = await made.port("data_access").get_run(result.run_id)
    assert recorded is not None and recorded.state == "succeeded"
    assert (tmp_path / "data" / "runs" / f"{result.run_id}.log").is_file()
    assert not (tmp_path / "data" / "runs.db").exists()
    topics = [e.topic for e in observer.events if e.source == "dag"]
    assert topics[0] == "run.started" and topics[-1] == "run.succeeded"
    assert topics.count("node.succeeded") == 5


def test_bad_tracker_options_are_an_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(SymphonyError, match=r"`components\.dag\.options\.max_concurrency` = 0: Expected `int` >= 1"):
        host(tmp_path, components={"dag": {"options": {"max_concurrency": 0}}})  # checked as the host loads


@pytest.mark.parametrize("key", ["database", "synchronous"])
def test_a_retired_run_database_option_is_an_error_saying_how_to_bring_old_runs_over(tmp_path: Path, key: str) -> None:
    with pytest.raises(SymphonyError, match=rf"components\.dag\.options\.{key} no longer applies") as raised:
        host(tmp_path, components={"dag": {"options": {key: "runs.db" if key == "database" else "full"}}})
    assert "symphony data import-runs PATH" in str(raised.value)


async def test_without_a_data_service_runs_still_run_but_are_not_recorded(tmp_path: Path) -> None:
    tracker = host(tmp_path, data=False).port("dag_tracker")
    assert isinstance(tracker, DagTracker)
    result = await tracker.run(
        load(EXAMPLES / "welcome.toml"), {"user": '{"name": "Ada", "active": true, "plan": "pro"}'}
    )
    await tracker.close()
    assert result.state == "succeeded"
    with pytest.raises(SymphonyError, match="keeps no run records: no data service"):
        await tracker.status(ExecutionId(result.run_id))
