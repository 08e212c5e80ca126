"""``symphony ext add-mcp`` end to end: the real command lists ``mcp-server-time``'s tools through the
ExtensionPort (confined), writes the project; pip installs it, and its operator runs with ``ext invoke``."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Installer, Symphony
from tests.mcp.mcp_servers import server_program

pytestmark = pytest.mark.slow

TIME_COMMAND = [server_program("mcp-server-time"), "--local-timezone", "UTC"]


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> tuple[Symphony, Path, subprocess.CompletedProcess[str]]:
    home = tmp_path_factory.mktemp("add-mcp")
    runner = Symphony(sites=(), home=home / "home")
    result = runner.run("ext", "add-mcp", "clock", "--directory", str(home / "clock"), "--", *TIME_COMMAND)
    return runner, home / "clock", result


def test_add_mcp_writes_one_operator_per_tool_and_says_what_to_do_next(
    added: tuple[Symphony, Path, subprocess.CompletedProcess[str]],
) -> None:
    _, project, result = added
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = tomllib.loads((project / "src" / "clock" / "symphony-extension.toml").read_text(encoding="utf-8"))
    operators = {operator["name"]: operator["entry"] for operator in manifest["contributes"]["operators"]}
    assert operators == {"clock.get_current_time": "get_current_time", "clock.convert_time": "convert_time"}
    assert f"pip install -e {project}" in result.stdout
    assert "symphony ext learn clock TOOL" in result.stdout


def test_an_added_server_once_installed_runs_its_tool_in_its_sandbox(
    added: tuple[Symphony, Path, subprocess.CompletedProcess[str]], tmp_path: Path, symphony: Callable[..., Symphony]
) -> None:
    _, project, result = added
    assert result.returncode == 0, result.stdout + result.stderr
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet"]
    subprocess.run([*pip, "--target", str(site), str(project)], check=True, capture_output=True, timeout=300)
    runner = symphony(site)
    answer: Any = runner.json("ext", "invoke", "clock", "get_current_time", "--input", "timezone=UTC")
    assert answer["result"]["result"]["timezone"] == "UTC"


def test_a_name_already_installed_is_refused(
    installer: Installer, symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    runner = symphony(installer.site("end-to-end"))
    result = runner.run("ext", "add-mcp", "sample-fetcher", "--directory", str(tmp_path / "x"), "--", *TIME_COMMAND)
    assert (result.returncode, result.stderr.strip()) == (
        1,
        "Error: An extension named 'sample-fetcher' is installed already; choose another NAME.",
    )
    assert not (tmp_path / "x").exists()
