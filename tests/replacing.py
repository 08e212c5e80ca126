"""Helpers for tests of a port replaced by an installed test distribution that logs its calls.

Each such distribution appends one JSON line per call to ``DATA_DIR/<its name>.log``.
A test module names its distribution once::

    REPLACEMENT = Replacement("own-conductor")
    cli = REPLACEMENT.cli_fixture()  # the real CLI over a site holding only that distribution
    served = serving_fixture("conductor")  # `symphony conductor serve` over it, once it listens
    ... REPLACEMENT.calls(cli) ...  # what the replacement logged
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.conftest import Installer, Symphony

SYMPHONY = Path(sys.executable).parent / "symphony"
#: The shipped example workflow the replacement tests run, and an input it accepts.
WELCOME = Path(__file__).resolve().parents[1] / "examples" / "welcome.toml"
USER = json.dumps({"name": "Ada", "active": True, "plan": "pro"})

#: Site directories already installed this session, by distribution.
_SITES: dict[str, Path] = {}


def replacing_cli(
    installer: Installer, tmp_path_factory: pytest.TempPathFactory, symphony: Any, distribution: str
) -> Symphony:
    """The real CLI over a site holding only ``distribution`` (installed once per session)."""
    if distribution not in _SITES:
        _SITES[distribution] = installer.install(tmp_path_factory.mktemp(distribution), distribution)
    runner: Symphony = symphony(_SITES[distribution])
    return runner


def logged_calls(cli: Symphony, distribution: str) -> list[dict[str, Any]]:
    """The calls ``distribution`` logged under ``cli``'s data directory, in order."""
    log = cli.data_dir / f"{distribution}.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@contextlib.contextmanager
def serving(command: str, socket: Path, *, env: Mapping[str, str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    """``symphony COMMAND serve --unix SOCKET`` (``bus`` or ``conductor``), once it listens; killed after."""
    cwd.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(SYMPHONY), command, "serve", "--unix", str(socket)],
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"listening on unix:{socket}"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)


class Replacement:
    """The test distribution ``distribution`` replacing a port: its ``cli`` fixture and its logged calls."""

    def __init__(self, distribution: str) -> None:
        self.distribution = distribution

    def cli_fixture(self) -> Any:
        """A ``cli`` fixture: :func:`replacing_cli` over this distribution."""
        distribution = self.distribution

        @pytest.fixture
        def cli(installer: Installer, tmp_path_factory: pytest.TempPathFactory, symphony: Any) -> Symphony:
            return replacing_cli(installer, tmp_path_factory, symphony, distribution)

        return cli

    def calls(self, cli: Symphony) -> list[dict[str, Any]]:
        """What the replacement logged under ``cli``, in order."""
        return logged_calls(cli, self.distribution)


def serving_fixture(command: str) -> Any:
    """A ``served`` fixture: ``symphony COMMAND serve --unix PATH`` over ``cli``, and its address."""

    @pytest.fixture
    def served(cli: Symphony) -> Iterator[tuple[subprocess.Popen[str], str]]:
        socket = cli.home / f"{command}.sock"
        with serving(command, socket, env=cli.env(), cwd=cli.home) as process:
            yield process, f"unix:{socket}"

    return served


def served_port(cli: Symphony, port: str) -> tuple[str, str, str]:
    """The active distro, and the plugin and type serving ``port``, as ``symphony doctor`` reports them."""
    health = cli.json("doctor", returncodes=(0, 1))  # 1: ports no plugin provides yet
    report = next(p for p in health["ports"] if p["port"] == port)
    return health["distro"], report["provider"], report["type"]
