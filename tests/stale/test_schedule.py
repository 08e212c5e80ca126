"""Collection on a schedule in a long-lived host: a started host, and ``symphony conductor serve``."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from symphony.hookspecs import ArtifactId, Event, hookimpl
from symphony.hookspecs.ports import StaleReport
from symphony.host import Host
from tests.conftest import Symphony
from tests.replacing import serving

from .conftest import CACHED, DAY, MakeHost, age_run, age_run_in, data_of, execute_sql, run, run_ids, service_db

DEADLINE = 30.0


class Observer:
    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def symphony_event(self, event: Event) -> None:
        self.events.append(event)


async def until(condition: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        met = condition()
        if await met if inspect.isawaitable(met) else met:
            return
        assert time.monotonic() < deadline, f"not within {DEADLINE} s: {what}"
        await asyncio.sleep(0.05)


async def no_runs_left(host: Host) -> bool:
    return await run_ids(data_of(host)) == []


def runs_recorded(data_dir: Path) -> int:
    """Runs in the data service another process (``conductor serve``) holds open: read from its database."""
    [(count,)] = execute_sql(service_db(data_dir), "SELECT count(*) FROM runs")
    return int(count)


async def test_a_started_host_collects_every_schedule_interval_and_publishes_each_collection(
    make_host: MakeHost,
) -> None:
    observer = Observer()
    host: Host = make_host(observer, stale={"runs": "1d", "schedule": 0.2})
    await age_run(host, await run(host, CACHED, text="1"), 2 * DAY)
    async with host:
        await until(lambda: no_runs_left(host), "the old run collected")
        await age_run(host, await run(host, CACHED, text="2"), 2 * DAY)
        await until(lambda: no_runs_left(host), "the second old run collected at a later interval")
    collected = [event for event in observer.events if event.topic == "stale.collected"]
    assert collected and collected[0].data["items"] >= 1 and collected[0].data["errors"] == {}


async def test_with_the_schedule_off_a_started_host_collects_nothing(make_host: MakeHost) -> None:
    observer = Observer()
    host = make_host(observer, stale={"runs": "1d", "schedule": "none"})
    await age_run(host, await run(host, CACHED, text="1"), 2 * DAY)
    async with host:
        await asyncio.sleep(0.5)  # several would-be intervals of the test above
        health = await host.health()
        assert len(await run_ids(data_of(host))) == 1
    assert not [event for event in observer.events if event.topic == "stale.collected"]
    assert "no scheduled collection" in health.components["stale"].message


@pytest.mark.slow
def test_conductor_serve_collects_on_the_schedule_even_while_a_source_fails(
    tmp_path: Path, symphony: Callable[..., Symphony]
) -> None:
    cli = symphony()
    cli.home.mkdir(parents=True)
    (cli.home / "symphony.toml").write_text('[components.stale.options]\nruns = "1d"\nschedule = 0.2\n')
    workflow = tmp_path / "cached.toml"
    workflow.write_text(
        'schema_version = 1\nid = "w"\nname = "w"\n[inputs]\ntext = { type = "string" }\n'
        '[nodes.parse]\nkind = "operator"\nuses = "json-parse"\nconfig = { run = { cache = true } }\n'
        '[[edges]]\nkind = "data"\nfrom = "inputs.text"\nto = "parse.text"\n'
    )
    run_id = cli.json("run", str(workflow), "--input", "text=1")["run_id"]
    age_run_in(cli.data_dir, run_id, 2 * DAY)
    (cli.data_dir / "stale.db").mkdir()  # the marks cannot be read: the sources reading them fail
    with serving("conductor", tmp_path / "c.sock", env=cli.env(), cwd=cli.home) as server:
        deadline = time.monotonic() + DEADLINE
        while runs_recorded(cli.data_dir):
            assert time.monotonic() < deadline, "the old run was not collected"
            assert server.poll() is None, "conductor serve stopped"
            time.sleep(0.05)
        time.sleep(0.5)  # more collections, each with failing sources
        assert server.poll() is None


class FlakyManager:
    """A stale manager whose first collection raises: the schedule must log it and collect again."""

    def __init__(self) -> None:
        self.collections = 0

    async def collect(self, dry_run: bool = False) -> StaleReport:
        self.collections += 1
        if self.collections == 1:
            raise RuntimeError("the first collection fails")
        return StaleReport()

    async def report(self) -> StaleReport:
        return StaleReport()

    async def sweep(self) -> int:
        return 0

    async def mark_stale(self, artifact_ids: list[ArtifactId], reason: str) -> None:
        pass

    async def is_stale(self, artifact_id: ArtifactId) -> bool:
        return False


class ProvidesFlaky:
    def __init__(self) -> None:
        self.manager = FlakyManager()

    @hookimpl
    def symphony_provide_stale_manager(self) -> FlakyManager:
        return self.manager


async def test_a_collection_that_raises_is_logged_and_the_next_one_still_runs(
    make_host: MakeHost, caplog: pytest.LogCaptureFixture
) -> None:
    plugin = ProvidesFlaky()
    async with make_host(plugin, stale={"schedule": 0.05}):
        await until(lambda: plugin.manager.collections >= 3, "collections after the failing one")
    assert "scheduled stale collection failed" in caplog.text
