"""Fixtures for the DAG tracker: trackers over a temporary run database, TOML workflows, a test plugin site."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.orchestra.operators import OPERATORS as BUILTIN_OPERATORS
from symphony.builtin_plugins.pit.dag import CheckpointStore, DagTracker, Implementations
from symphony.builtin_plugins.workflow import decode
from symphony.hookspecs import Event, Workflow

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
def make_tracker(tmp_path: Path, events: list[Event]) -> Iterator[Callable[..., DagTracker]]:
    """``make_tracker(**options)``: a tracker over builtin and test operators, its database in tmp_path."""
    stores: list[CheckpointStore] = []

    def make(**kwargs: Any) -> DagTracker:
        store = CheckpointStore(tmp_path / "runs.db")
        stores.append(store)
        kwargs.setdefault("emit", events.append)
        return DagTracker(Implementations.of([*BUILTIN_OPERATORS, *ops.OPERATORS]), store=store, **kwargs)

    yield make
    for store in stores:
        store.close()


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
