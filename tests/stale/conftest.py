"""Fixtures for the Stale Manager: a real host (DAG tracker, data service, artifact store, stale plugin) over a tmp dir.

Retention is tested by moving timestamps, never by sleeping.  A run's finish
time is moved through port ``data_access`` (``RunUpdate.finished_at``), as any
caller would; what the port cannot change (a cache entry's ``created_at``, a
run's ``created_at``) is moved with SQL on the embedded data service's real
database, ``<data_dir>/data/service.db``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.data import plugin as data_plugin
from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.builtin_plugins.pit.stale import plugin as stale_plugin
from symphony.builtin_plugins.workflow import decode
from symphony.hookspecs import Workflow
from symphony.hookspecs.ports import DataAccessPort, RunUpdate, StaleManagerPort
from symphony.host import Host, Settings

DAY = 86400.0

MakeHost = Callable[..., Host]


def flow(text: str, workflow_id: str = "w") -> Workflow:
    """A workflow from TOML nodes (``schema_version``, ``id`` and ``name`` added)."""
    return decode(f'schema_version = 1\nid = "{workflow_id}"\nname = "{workflow_id}"\n{text}'.encode(), "toml")


#: One cached node parsing the input: each distinct input is a distinct cache entry of node ``parse``.
CACHED = flow(
    """
[inputs]
text = { type = "string" }
[outputs]
out = "parse.value"
[nodes.parse]
kind = "operator"
uses = "json-parse"
config = { run = { cache = true } }
[[edges]]
kind = "data"
from = "inputs.text"
to = "parse.text"
"""
)


@pytest.fixture
def make_host(tmp_path: Path) -> MakeHost:
    """``make_host(*plugins, stale={...})``: a loaded host over tmp_path/data with the Pit's builtins."""

    def make(*plugins: object, stale: Mapping[str, Any] | None = None, **components: Any) -> Host:
        settings = Settings(
            data_dir=tmp_path / "data",
            cache_dir=tmp_path / "cache",
            components={"stale": {"options": dict(stale or {})}, **components},
        )
        host = Host(
            settings,
            plugins=(data_plugin, dag_plugin, orchestra_plugin, artifacts_plugin, stale_plugin, *plugins),
            discover_plugins=False,
        )
        host.load()
        return host

    return make


def manager_of(host: Host) -> StaleManagerPort:
    manager: StaleManagerPort = host.port("stale_manager")
    return manager


def data_of(host: Host) -> DataAccessPort:
    data: DataAccessPort = host.port("data_access")
    return data


async def run(host: Host, workflow: Workflow, **inputs: Any) -> str:
    """Run ``workflow`` to its end with the host's tracker; its run id."""
    tracker = host.port("dag_tracker")
    run_id = await tracker.execute(workflow, inputs)
    outcome = await tracker.wait(run_id)
    assert outcome.state == "succeeded", outcome.error
    return str(run_id)


async def age_run(host: Host, run_id: str, seconds: float) -> None:
    """Make ``run_id`` have finished ``seconds`` ago, through the host's data service."""
    await data_of(host).update_run(run_id, RunUpdate(finished_at=time.time() - seconds))


def age_run_in(data_dir: Path, run_id: str, seconds: float) -> None:
    """:func:`age_run` for a run the ``symphony`` command recorded under ``data_dir`` (a host of the data plugin)."""

    async def age() -> None:
        host = Host(
            Settings(data_dir=data_dir, cache_dir=data_dir.parent / "cache"),
            plugins=(data_plugin,),
            discover_plugins=False,
        ).load()
        async with host:
            await age_run(host, run_id, seconds)

    asyncio.run(age())


async def run_ids(data: DataAccessPort) -> list[str]:
    """Every run the service holds, sorted."""
    found: list[str] = []
    cursor = None
    while True:
        page = await data.list_runs(limit=200, cursor=cursor)
        found += [summary.id for summary in page.items]
        if page.next_cursor is None:
            return sorted(found)
        cursor = page.next_cursor


async def cache_entries(data: DataAccessPort) -> dict[str, str]:
    """The node cache: key -> the run that made it."""
    found: dict[str, str] = {}
    cursor = None
    while True:
        page = await data.list_cache(limit=500, cursor=cursor)
        found |= {entry.key: entry.run_id for entry in page.items}
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def service_db(data_dir: Path) -> Path:
    """The embedded data service's database under ``data_dir``."""
    return data_dir / "data" / "service.db"


def execute_sql(database: Path, statement: str, *parameters: Any) -> list[Any]:
    """One statement on a real database, committed."""
    with sqlite3.connect(database) as connection:
        return connection.execute(statement, parameters).fetchall()


def keys(items: Any, kind: str | None = None) -> list[str]:
    return sorted(item.key for item in items if kind is None or item.kind == kind)
