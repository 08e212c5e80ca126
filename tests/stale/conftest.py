"""Fixtures for the Stale Manager: a real host (DAG tracker, artifact store, stale plugin) over a temporary data dir.

Retention is tested by moving timestamps in the real databases (``age_run``,
``age_cache``), never by sleeping.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.builtin_plugins.pit.stale import plugin as stale_plugin
from symphony.builtin_plugins.workflow import decode
from symphony.hookspecs import Workflow
from symphony.hookspecs.ports import StaleManagerPort
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
            plugins=(dag_plugin, orchestra_plugin, artifacts_plugin, stale_plugin, *plugins),
            discover_plugins=False,
        )
        host.load()
        return host

    return make


def manager_of(host: Host) -> StaleManagerPort:
    manager: StaleManagerPort = host.port("stale_manager")
    return manager


async def run(host: Host, workflow: Workflow, **inputs: Any) -> str:
    """Run ``workflow`` to its end with the host's tracker; its run id."""
    tracker = host.port("dag_tracker")
    run_id = await tracker.execute(workflow, inputs)
    outcome = await tracker.wait(run_id)
    assert outcome.state == "succeeded", outcome.error
    return str(run_id)


def execute_sql(database: Path, statement: str, *parameters: Any) -> list[Any]:
    """One statement on a real database, committed."""
    with sqlite3.connect(database) as connection:
        return connection.execute(statement, parameters).fetchall()


def age_run(data_dir: Path, run_id: str, seconds: float) -> None:
    """Make ``run_id`` have finished ``seconds`` ago."""
    execute_sql(data_dir / "runs.db", "UPDATE runs SET finished_at = ? WHERE id = ?", time.time() - seconds, run_id)


def keys(items: Any, kind: str | None = None) -> list[str]:
    return sorted(item.key for item in items if kind is None or item.kind == kind)
