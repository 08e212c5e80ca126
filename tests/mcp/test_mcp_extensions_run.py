"""A workflow whose nodes are tools of two real MCP servers (time and git), run with ``symphony run``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.extensions.helpers import write_extension
from tests.extensions.test_venvs import PIP_ARGS_ENV
from tests.mcp.mcp_servers import server_program

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow

MANIFEST = """schema_version = 1

[extension]
name = "{name}"
version = "1.0.0"
type = "operator"
author = "tests"
description = "An MCP server as an extension."
license = "MIT"

[dependencies]
symphony = "^1.0"

[capabilities]
file_access = {file_access}

[runtime]
kind = "mcp"
command = {command}

[[contributes.operators]]
{operator}
"""

TIME_TOOL = """name = "current-time"
entry = "get_current_time"
inputs = { timezone = { type = "string" } }
outputs = { result = { type = "object" }, text = { type = "string" } }"""

GIT_TOOL = """name = "git-log"
entry = "git_log"
inputs = { repo_path = { type = "string" } }
outputs = { text = { type = "string" } }"""


def manifest(name: str, command: list[str], operator: str, file_access: tuple[str, ...] = ()) -> str:
    """A hand-written manifest of an mcp extension offering one tool as an operator."""
    return MANIFEST.format(
        name=name, command=json.dumps(command), operator=operator, file_access=json.dumps(list(file_access))
    )


WORKFLOW = """schema_version = 1
id = "time-and-history"
name = "The time, and the repository's history"
version = "1.0.0"

[inputs]
timezone = { type = "string" }
repository = { type = "string" }

[outputs]
now = "now.result"
history = "history.text"

[nodes.now]
kind = "operator"
uses = "current-time"

[nodes.history]
kind = "operator"
uses = "git-log"

[[edges]]
kind = "data"
from = "inputs.timezone"
to = "now.timezone"

[[edges]]
kind = "data"
from = "inputs.repository"
to = "history.repo_path"
"""


@pytest.fixture
def project(tmp_path: Path, symphony: Callable[..., Symphony], repositories: tuple[Path, Path]) -> Symphony:
    """A site with the time and git servers installed as extensions (manifests written by hand)."""
    site = tmp_path / "site"
    granted, _ = repositories
    time_command = [server_program("mcp-server-time"), "--local-timezone", "UTC"]
    write_extension(site, "mcp-time", manifest("mcp-time", time_command, TIME_TOOL))
    git_access = (f"admin:{granted}/**",)
    write_extension(site, "mcp-git", manifest("mcp-git", [server_program("mcp-server-git")], GIT_TOOL, git_access))
    (tmp_path / "time-and-history.toml").write_text(WORKFLOW, encoding="utf-8")
    return symphony(site)


def test_a_workflow_runs_tools_of_two_mcp_servers(
    project: Symphony, tmp_path: Path, repositories: tuple[Path, Path]
) -> None:
    granted, _ = repositories
    assert project.run("ext", "grant", "mcp-git", f"file:admin:{granted}/**").returncode == 0
    inputs = ["--input", "timezone=Asia/Tokyo", "--input", f"repository={granted}"]
    run = project.json("run", str(tmp_path / "time-and-history.toml"), *inputs)
    assert run["state"] == "succeeded", run
    assert run["outputs"]["now"]["timezone"] == "Asia/Tokyo"
    assert "granted commit" in run["outputs"]["history"]


def test_the_git_tool_is_refused_a_repository_it_was_not_granted(
    project: Symphony, tmp_path: Path, repositories: tuple[Path, Path]
) -> None:
    granted, secret = repositories
    assert project.run("ext", "grant", "mcp-git", f"file:admin:{granted}/**").returncode == 0
    inputs = ["--input", "timezone=UTC", "--input", f"repository={secret}"]
    run = project.json("run", str(tmp_path / "time-and-history.toml"), *inputs, returncodes=(1,))
    assert run["state"] == "failed", run
    assert "secret commit" not in json.dumps(run)


def test_a_server_from_python_dependencies_runs_from_the_extensions_own_environment(
    tmp_path: Path, symphony: Callable[..., Symphony]
) -> None:
    wheels = tmp_path / "wheels"  # what pip fetches for the test environment, so the build needs no index
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "mcp-server-time", "-w", str(wheels)], check=True)
    site = tmp_path / "site"
    text = manifest("own-time", ["mcp-server-time", "--local-timezone", "UTC"], TIME_TOOL)
    text = text.replace('[runtime]\nkind = "mcp"', '[runtime]\nkind = "mcp"\npython_dependencies = ["mcp-server-time"]')
    write_extension(site, "own-time", text)
    project = symphony(site, **{PIP_ARGS_ENV: f"--no-index --find-links {wheels}"})
    answer = project.json("ext", "invoke", "own-time", "get_current_time", "--input", "timezone=Europe/Paris")
    assert answer["result"]["result"]["timezone"] == "Europe/Paris"
    environments = (project.cache_dir / "extension-venvs").iterdir()
    assert any((environment / "bin" / "mcp-server-time").is_file() for environment in environments)
