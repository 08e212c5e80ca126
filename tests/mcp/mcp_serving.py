"""Helpers of the ``symphony mcp serve`` tests: a temporary project, and the SDK's own client over stdio."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import REPO, SYMPHONY, Symphony

EXAMPLES: Final = REPO / "examples"
T = TypeVar("T")

#: Valid, but its one node is an operator no plugin contributes.
UNKNOWN_NODE: Final = """\
schema_version = 1
id = "needs-missing"
name = "Needs a missing node"
[inputs]
text = { type = "string" }
[nodes.x]
kind = "operator"
uses = "no-such-operator"
[[edges]]
kind = "data"
from = "inputs.text"
to = "x.text"
"""


def make_project(root: Path, *extra: tuple[str, str]) -> Path:
    """A project directory with the extract-title example, a document with an unknown node, and ``extra`` files."""
    project = root / "project"
    project.mkdir()
    shutil.copyfile(EXAMPLES / "extract-title.toml", project / "extract-title.toml")
    (project / "broken.toml").write_text(UNKNOWN_NODE, encoding="utf-8")
    for name, text in extra:
        (project / name).write_text(text, encoding="utf-8")
    return project


async def over_stdio(runner: Symphony, project: Path, use: Callable[[Client], Awaitable[T]], *args: str) -> T:
    """Start ``symphony mcp serve ARGS`` in ``project`` as a real subprocess and run ``use`` with a client of it."""
    params = StdioServerParameters(
        command=str(SYMPHONY), args=["mcp", "serve", *args], cwd=str(project), env=runner.env()
    )
    async with Client(params, read_timeout_seconds=120) as client:
        return await use(client)


def structured(result: Any) -> Any:
    """A tool result's structured content, failing with its text when the call was an error."""
    assert not result.is_error, result.content[0].text
    return result.structured_content


def serve_once(
    runner: Symphony, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``symphony mcp serve ARGS`` in ``cwd`` until it exits (over stdio the client hangs up at once), output kept."""
    return subprocess.run(
        [str(SYMPHONY), "mcp", "serve", *args],
        cwd=cwd,
        env=runner.env(env),
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
