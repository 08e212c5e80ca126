"""Fixtures for the conductor: real hosts (embedded or process mode), the DAG test operators, workflow files.

The test operators are tests/dag/ops.py: loaded as a module for in-process hosts,
and installed as a plugin distribution in a site directory (entry point, no pip)
for conductor child processes, which find them through PYTHONPATH.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from symphony.builtin_plugins.conductor import plugin as conductor_plugin
from symphony.builtin_plugins.data import plugin as data_plugin
from symphony.builtin_plugins.ipc.bus import plugin as bus_plugin
from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.host import Host, Settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
OPS = REPO / "tests" / "dag" / "ops.py"
WELCOME_USER = '{"name": "Ada", "active": true, "plan": "pro"}'
WELCOME_LINES = ["Welcome, Ada!", "Thanks for choosing the pro plan."]


def _ops_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("symphony_conductortest_ops", OPS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OPS_PLUGIN = _ops_module()


def started(log: Path) -> list[str]:
    """The names of the test operators that started, in order (from their log file)."""
    if not log.exists():
        return []
    return [entry["name"] for entry in map(json.loads, log.read_text().splitlines()) if entry["what"] == "start"]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def node(name: str, log: Path, **config: Any) -> str:
    """A ``test-record`` node: logs its start and end, outputs ``[name, input]``."""
    extra = "".join(f", {key} = {json.dumps(value)}" for key, value in config.items())
    head = f'[nodes.{name}]\nkind = "operator"\nuses = "test-record"\n'
    return head + f'config = {{ name = "{name}", log = "{log}"{extra} }}\n'


def edge(source: str, target: str) -> str:
    return f'[[edges]]\nkind = "data"\nfrom = "{source}.value"\nto = "{target}.value"\n'


def write_flow(path: Path, body: str, outputs: dict[str, str], first: str = "a") -> Path:
    """A workflow file with input ``x`` wired into node ``first``."""
    header = 'schema_version = 1\nid = "conductor-test"\nname = "conductor test"\n[inputs]\nx = { type = "any" }\n'
    out = "[outputs]\n" + "".join(f'{key} = "{value}"\n' for key, value in outputs.items())
    path.write_text(header + out + body + f'[[edges]]\nkind = "data"\nfrom = "inputs.x"\nto = "{first}.value"\n')
    return path


@pytest.fixture(scope="session")
def ops_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory holding the test operators as an installed plugin distribution."""
    site = tmp_path_factory.mktemp("conductor-site")
    shutil.copy(OPS, site / "symphony_conductortest_ops.py")
    info = site / "symphony_conductortest-0.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: symphony-conductortest\nVersion: 0.0.0\n")
    (info / "entry_points.txt").write_text("[symphony.plugins]\nconductortest = symphony_conductortest_ops\n")
    (info / "RECORD").write_text("")
    return site


def make_host(tmp_path: Path, **options: Any) -> Host:
    """A loaded host with the builtins a conductor needs (the data service records its runs) and the test operators.

    ``options`` are the conductor's.
    """
    host = Host(
        Settings(
            data_dir=tmp_path / "data",
            cache_dir=tmp_path / "cache",
            components={"conductor": {"options": options}},
        ),
        plugins=(bus_plugin, data_plugin, dag_plugin, orchestra_plugin, artifacts_plugin, conductor_plugin, OPS_PLUGIN),
        discover_plugins=False,
    )
    host.load()
    return host


@pytest.fixture
async def embedded_host(tmp_path: Path) -> AsyncIterator[Host]:
    host = make_host(tmp_path)
    async with host:
        yield host


@pytest.fixture
async def process_host(tmp_path: Path, ops_site: Path) -> AsyncIterator[Host]:
    """A started host whose conductor is a supervised child process (which has the test operators too)."""
    host = make_host(tmp_path, mode="process", env={"PYTHONPATH": str(ops_site)})
    async with host:
        yield host
