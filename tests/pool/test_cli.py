"""``symphony pool status|warm|unload``: the real command over a site with a plugin contributing fake models."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO, parse_json

if TYPE_CHECKING:
    from tests.conftest import Symphony

_PLUGIN = """
from symphony.hookspecs import ModelSpec, hookimpl

SYMPHONY_API = "^1.0"
LOADER = "benchmarks.pool_models:load"


@hookimpl
def symphony_models(context):
    return [
        ModelSpec(name="fake-small", loader=LOADER, config={"megabytes": 8}),
        ModelSpec(name="fake-broken", loader=LOADER, config={"fail": "the weights file is truncated"}),
    ]
"""


@pytest.fixture
def cli(symphony: Callable[..., Symphony], tmp_path: Path) -> Symphony:
    """A site holding one installed plugin (a module and its dist-info), and the repository for the loader."""
    site = tmp_path / "site"
    info = site / "pool_cli_models-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "pool_cli_models.py").write_text(_PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pool-cli-models\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[symphony.plugins]\npool-cli-models = pool_cli_models\n")
    return symphony(site, REPO)


def test_status_without_a_host_lists_the_known_models_as_cold(cli: Symphony) -> None:
    document = cli.json("pool", "status")
    assert document["host"] is None
    states = {m["model_id"]: m["state"] for m in document["status"]["models"]}
    assert states["fake-small"] == states["fake-broken"] == "cold"


def test_warm_loads_the_model_and_reports_its_warm_up_time_and_memory(cli: Symphony) -> None:
    document = cli.json("pool", "warm", "fake-small")
    assert document["model"] == "fake-small"
    assert document["warm_seconds"] >= document["load_seconds"] > 0
    assert document["rss"] > 8 * 2**20  # the interpreter plus the 8 MB the fake model holds
    assert document["instances"] == 1


def test_warm_of_a_model_whose_loader_fails_exits_1_with_the_cause(cli: Symphony) -> None:
    result = cli.run("pool", "warm", "fake-broken")
    assert result.returncode == 1
    assert "the weights file is truncated" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["warm", "unload"])
def test_an_unknown_model_exits_1_naming_the_known_ones(cli: Symphony, command: str) -> None:
    result = cli.run("pool", command, "fake-typo")
    assert result.returncode == 1
    assert "unknown model 'fake-typo'; the pool knows: " in result.stderr
    assert "fake-broken, fake-small" in result.stderr
    assert "Traceback" not in result.stderr


def test_warm_without_a_model_is_a_usage_error(cli: Symphony) -> None:
    result = cli.run("pool", "warm")
    assert result.returncode == 2
    assert "Missing argument 'MODEL'" in result.stderr


@pytest.fixture
def running_host(cli: Symphony) -> Iterator[subprocess.Popen[str]]:
    """A host process that warms fake-small and keeps running, checking its pool every 0.1 s."""
    code = textwrap.dedent(
        """
        import asyncio
        from symphony.host import Host, Settings

        async def main():
            settings = Settings(components={"pool": {"options": {"health_interval": 0.1}}})
            async with Host(settings) as host:
                pool = host.port("pool_manager")
                async with pool.use("fake-small"):
                    pass
                print("ready", flush=True)
                await asyncio.sleep(120)

        asyncio.run(main())
        """
    )
    cli.home.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=cli.home, env=cli.env(), stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    yield process
    process.kill()
    process.wait()


def _wait_for(cli: Symphony, condition: Callable[[dict[str, object]], bool]) -> dict[str, object]:
    import time

    deadline = time.monotonic() + 30
    while True:
        document: dict[str, object] = parse_json(cli.run("pool", "status", "--json"))
        if condition(document) or time.monotonic() > deadline:
            return document
        time.sleep(0.1)


def _state(document: dict[str, object], model: str) -> str:
    status = document["status"]
    assert isinstance(status, dict)
    return next(str(m["state"]) for m in status["models"] if m["model_id"] == model)


@pytest.mark.slow
def test_status_shows_the_running_hosts_pool_and_that_it_is_alive(
    cli: Symphony, running_host: subprocess.Popen[str]
) -> None:
    document = _wait_for(cli, lambda d: d["host"] is not None and _state(d, "fake-small") == "hot")
    assert document["host"] == {**document["host"], "pid": running_host.pid, "alive": True}  # type: ignore[dict-item]
    assert _state(document, "fake-small") == "hot"
    text = cli.run("pool", "status").stdout
    assert f"Pool of host pid {running_host.pid} (running)" in text


@pytest.mark.slow
def test_status_after_the_host_died_says_it_is_not_running(cli: Symphony, running_host: subprocess.Popen[str]) -> None:
    _wait_for(cli, lambda d: d["host"] is not None and _state(d, "fake-small") == "hot")
    running_host.kill()
    running_host.wait()
    text = cli.run("pool", "status").stdout
    assert f"Pool of host pid {running_host.pid} (not running)" in text


@pytest.mark.slow
def test_unload_asks_the_running_host_to_cool_the_model(cli: Symphony, running_host: subprocess.Popen[str]) -> None:
    _wait_for(cli, lambda d: d["host"] is not None and _state(d, "fake-small") == "hot")
    document = cli.json("pool", "unload", "fake-small")
    assert document == {"model": "fake-small", "host_pid": running_host.pid}
    assert _state(_wait_for(cli, lambda d: _state(d, "fake-small") == "cold"), "fake-small") == "cold"
