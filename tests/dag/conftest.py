"""Fixtures for the DAG tracker: trackers recording runs in a real embedded data service, TOML workflows, plugin sites.

``data_port`` is the data plugin's own embedded service (SQLite under ``tmp_path``, migrated,
reached in process through the client the host would give) behind port ``data_access``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.embedded import open_embedded
from symphony.builtin_plugins.orchestra.operators import OPERATORS as BUILTIN_OPERATORS
from symphony.builtin_plugins.pit.dag import DagTracker, Implementations
from symphony.builtin_plugins.workflow import decode
from symphony.hookspecs import Event, Workflow
from symphony.hookspecs.ports import DataAccessPort

from . import ops

HERE = Path(__file__).resolve().parent


def flow(text: str) -> Workflow:
    """A workflow from TOML text (``schema_version`` and ``id`` are added when missing)."""
    if "schema_version" not in text:
        text = 'schema_version = 1\nid = "test"\nname = "test"\n' + text
    return decode(text.encode(), "toml")


def log_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def started(path: Path) -> list[str]:
    """The names that started, in order."""
    return [entry["name"] for entry in log_lines(path) if entry["what"] == "start"]


@pytest.fixture
def events() -> list[Event]:
    return []


@pytest.fixture
async def data_port(tmp_path: Path) -> AsyncIterator[DataAccessPort]:
    """Port ``data_access`` of a fresh embedded data service under ``tmp_path / "data"``, closed after the test."""
    service = open_embedded(tmp_path / "data")
    client = DataClient.in_process(service.app, service.token)
    try:
        yield client
    finally:
        await client.aclose()
        service.close()


@pytest.fixture
def make_tracker(tmp_path: Path, events: list[Event], data_port: DataAccessPort) -> Callable[..., DagTracker]:
    """``make_tracker(**options)``: a tracker over builtin and test operators, recording runs in ``data_port``."""

    def make(**kwargs: Any) -> DagTracker:
        kwargs.setdefault("emit", events.append)
        kwargs.setdefault("records", data_port)
        kwargs.setdefault("log_dir", tmp_path / "runs")
        return DagTracker(Implementations.of([*BUILTIN_OPERATORS, *ops.OPERATORS]), **kwargs)

    return make


@pytest.fixture
def tracker(make_tracker: Callable[..., DagTracker]) -> DagTracker:
    return make_tracker()


@pytest.fixture(scope="session")
def test_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory holding the test operators as an installed distribution (entry point, no pip)."""
    site = tmp_path_factory.mktemp("dag-site")
    shutil.copy(HERE / "ops.py", site / "symphony_dagtest_ops.py")
    register(site, "symphony-dagtest", "[symphony.plugins]\ndagtest = symphony_dagtest_ops\n")
    return site


@pytest.fixture(scope="session")
def slow_extension_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory holding ``slow-ext``, a subprocess extension whose operator never returns (no pip)."""
    site = tmp_path_factory.mktemp("slow-extension-site")
    shutil.copytree(HERE / "slow_extension" / "symphony_slowext", site / "symphony_slowext")
    register(site, "symphony-slowext", "[symphony.extensions]\nslow-ext = symphony_slowext\n")
    return site


def register(site: Path, distribution: str, entry_points: str) -> None:
    """Record ``distribution`` (version 0.0.0) in ``site`` as installed, with ``entry_points``, as pip would."""
    info = site / f"{distribution.replace('-', '_')}-0.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.0.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    (info / "RECORD").write_text("")
