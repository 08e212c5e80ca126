"""``symphony ext add-mcp``: an extension project from a real MCP server's tools.

The tools come from ``mcp-server-time`` (installed from the package index),
listed here with the SDK's own stdio client; the written manifest is checked by
the real ``symphony ext validate``.
"""

from __future__ import annotations

import asyncio
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from symphony.hookspecs import RegistryError
from symphony.registry.scaffold.mcp import manifest_for, operators_from_tools, write_project
from tests.conftest import Symphony
from tests.mcp.mcp_servers import server_program

TIME_COMMAND = [server_program("mcp-server-time"), "--local-timezone", "UTC"]


async def _tools(command: list[str]) -> list[dict[str, Any]]:
    async with Client(StdioServerParameters(command=command[0], args=command[1:])) as client:
        listed = (await client.list_tools()).tools
    return [
        {"name": t.name, "description": t.description, "inputSchema": t.input_schema, "outputSchema": t.output_schema}
        for t in listed
    ]


@pytest.fixture(scope="module")
def time_tools() -> list[dict[str, Any]]:
    return asyncio.run(_tools(TIME_COMMAND))


def _manifest(name: str, operators: list[dict[str, Any]]) -> dict[str, Any]:
    return manifest_for(name, TIME_COMMAND, (), "tester", operators)


def test_each_tool_is_an_operator_named_after_the_extension_with_its_schema_as_inputs(
    time_tools: list[dict[str, Any]],
) -> None:
    operators, notes = operators_from_tools("clock", time_tools)
    by_name = {operator["name"]: operator for operator in operators}
    assert sorted(by_name) == ["clock.convert_time", "clock.get_current_time"]
    current = by_name["clock.get_current_time"]
    assert current["entry"] == "get_current_time"
    assert {port: spec.type for port, spec in current["inputs"].items()} == {"timezone": "string"}
    assert current["inputs"]["timezone"].required
    assert notes == []


def test_each_operator_outputs_what_the_mcp_runtime_returns() -> None:
    (operator,), _ = operators_from_tools("x", [{"name": "t", "inputSchema": {"type": "object"}}])
    assert {port: (spec.type, spec.required) for port, spec in operator["outputs"].items()} == {
        "result": ("json", False),
        "text": ("string", True),
        "content": ("list[object]", True),
    }


def test_a_tool_with_an_output_schema_types_its_result() -> None:
    tool = {"name": "t", "inputSchema": {"type": "object"}, "outputSchema": {"type": "object", "properties": {}}}
    (operator,), _ = operators_from_tools("x", [tool])
    assert operator["outputs"]["result"].type == "object"


def test_what_cannot_be_converted_is_noted_per_tool() -> None:
    tool = {"name": "t", "inputSchema": {"properties": {"v": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}}}
    _, notes = operators_from_tools("x", [tool])
    assert notes == [
        "tool 't': property 'v': oneOf of different types is not in the workflow type language; typed as json"
    ]


def test_a_tool_name_that_cannot_name_an_operator_is_left_out_with_a_note() -> None:
    operators, notes = operators_from_tools("x", [{"name": "bad name!", "inputSchema": {}}])
    assert (operators, notes) == (
        [],
        ["tool 'bad name!': not usable as an operator name (a letter, then letters, digits, _ . -); left out"],
    )


def test_the_written_project_validates_with_the_host(
    time_tools: list[dict[str, Any]], tmp_path: Path, symphony: Any
) -> None:
    operators, _ = operators_from_tools("clock", time_tools)
    project = write_project(tmp_path / "clock", "clock", _manifest("clock", operators))
    manifest = project / "src" / "clock" / "symphony-extension.toml"
    runner: Symphony = symphony()
    result = runner.run("ext", "validate", str(manifest))
    assert result.returncode == 0, result.stdout + result.stderr
    document = tomllib.loads(manifest.read_text(encoding="utf-8"))
    assert document["runtime"] == {"kind": "mcp", "command": TIME_COMMAND}
    assert "capabilities" not in document  # learned with `ext learn` and reviewed, never guessed
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["entry-points"]["symphony.extensions"] == {"clock": "clock"}


def test_writing_into_a_non_empty_directory_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "clock"
    target.mkdir()
    (target / "mine.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(RegistryError, match="is not empty"):
        write_project(target, "clock", _manifest("clock", []))
    assert [path.name for path in target.iterdir()] == ["mine.txt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clock"]  # no scratch directory left


def test_the_project_keeps_the_users_umask(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        project = write_project(tmp_path / "clock", "clock", _manifest("clock", []))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(project.stat().st_mode) == 0o750
    assert stat.S_IMODE((project / "pyproject.toml").stat().st_mode) == 0o640


def test_an_invalid_name_is_one_clear_line_and_nothing_is_written(tmp_path: Path, symphony: Any) -> None:
    runner: Symphony = symphony()
    result = runner.run("ext", "add-mcp", "Bad_Name", "--directory", str(tmp_path / "x"), "--", *TIME_COMMAND)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: 'Bad_Name' is not an extension name: use lowercase letters and digits in words joined by single"
        " dashes (e.g. word-count), at most 64 characters."
    )
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_a_server_that_cannot_start_is_one_clear_line_and_nothing_is_written(tmp_path: Path, symphony: Any) -> None:
    runner: Symphony = symphony()
    result = runner.run("ext", "add-mcp", "ghost", "--directory", str(tmp_path / "ghost"), "--", "no-such-mcp-server")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Cannot list the tools of 'no-such-mcp-server': ")
    assert "'no-such-mcp-server', which is neither in PATH" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert [path.name for path in tmp_path.iterdir()] == ["home0"]  # no project, no scratch directory


def test_python_dependencies_go_to_the_runtime_and_validate(tmp_path: Path, symphony: Any) -> None:
    document = manifest_for("clock", ["mcp-server-time"], ["mcp-server-time==2026.10.19"], "tester", [])
    assert document["runtime"] == {
        "kind": "mcp",
        "command": ["mcp-server-time"],
        "python_dependencies": ["mcp-server-time==2026.10.19"],
    }
    project = write_project(tmp_path / "clock", "clock", document)
    runner: Symphony = symphony()
    result = runner.run("ext", "validate", str(project / "src" / "clock" / "symphony-extension.toml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_tool_listed_twice_is_one_operator_with_a_note() -> None:
    tools = [{"name": "now", "description": "first"}, {"name": "now", "description": "second"}]
    operators, notes = operators_from_tools("clock", tools)
    assert [(operator["name"], operator["description"]) for operator in operators] == [("clock.now", "first")]
    assert notes == ["tool 'now': listed twice by the server; only the first is an operator"]
