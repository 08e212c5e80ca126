"""``symphony mcp serve`` over stdio, spoken to by the MCP SDK's own client, as an assistant would.

One server process per module: the client's session is recorded once (a
transcript of every request and answer), and each test reads the part it is
about.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
from mcp import Client

from symphony.builtin_plugins.mcp.server import MAX_RUNS_KEPT, Bridge, check_arguments, json_outputs
from symphony.builtin_plugins.mcp.stdio import MAX_LINE
from symphony.hookspecs import PortSpec, Workflow
from symphony.hookspecs.ports import HostContext
from tests.conftest import SYMPHONY, Symphony
from tests.mcp.mcp_serving import make_project, over_stdio, serve_once, structured


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Symphony:
    return Symphony(sites=(), home=tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def transcript(runner: Symphony, project: Path) -> dict[str, Any]:
    async def session(client: Client) -> dict[str, Any]:
        seen: dict[str, Any] = {"tools": (await client.list_tools()).tools}
        seen["call"] = await client.call_tool("extract-title", {"html": "<title>Hello</title>"})
        seen["wrong_type"] = await client.call_tool("extract-title", {"html": 3})
        seen["missing"] = await client.call_tool("extract-title", {})
        seen["unknown_argument"] = await client.call_tool("extract-title", {"html": "x", "colour": "red"})
        seen["unknown_tool"] = await client.call_tool("needs-missing", {"text": "x"})
        seen["resources"] = (await client.list_resources()).resources
        seen["templates"] = (await client.list_resource_templates()).resource_templates
        run_id = seen["call"].meta["run_id"]
        seen["run"] = await client.read_resource(f"symphony://runs/{run_id}")
        return seen

    return asyncio.run(over_stdio(runner, project, session))


def _text(result: Any) -> str:
    assert result.is_error
    return str(result.content[0].text)


def test_each_valid_workflow_is_a_tool_with_its_inputs_as_schema(transcript: dict[str, Any]) -> None:
    (tool,) = transcript["tools"]
    assert tool.name == "extract-title"
    assert tool.input_schema == {
        "type": "object",
        "properties": {"html": {"type": "string", "description": "The HTML document."}},
        "required": ["html"],
    }


def test_a_tools_output_schema_types_each_named_output_by_the_port_it_reads(transcript: dict[str, Any]) -> None:
    (tool,) = transcript["tools"]
    assert tool.output_schema == {
        "type": "object",
        "properties": {"sentence": {"type": "string"}, "found": {"type": "boolean"}},
    }


def test_calling_a_tool_runs_the_workflow_and_returns_its_outputs_as_structured_content(
    transcript: dict[str, Any],
) -> None:
    result = transcript["call"]
    assert structured(result) == {"sentence": "The page is called Hello.", "found": True}
    assert json.loads(result.content[0].text)["outputs"] == result.structured_content


def test_an_argument_of_the_wrong_type_is_a_tool_error_naming_it(transcript: dict[str, Any]) -> None:
    assert _text(transcript["wrong_type"]) == "extract-title: argument 'html' must be string, not integer."


def test_a_missing_required_argument_is_a_tool_error(transcript: dict[str, Any]) -> None:
    assert _text(transcript["missing"]) == "extract-title: argument 'html' (string) is required."


def test_an_unknown_argument_is_a_tool_error_listing_the_inputs(transcript: dict[str, Any]) -> None:
    assert _text(transcript["unknown_argument"]) == (
        "extract-title: unknown argument(s) 'colour'; the inputs are: html."
    )


def test_an_invalid_workflow_is_not_offered_and_calling_it_is_refused(transcript: dict[str, Any]) -> None:
    assert _text(transcript["unknown_tool"]) == "No workflow 'needs-missing' is offered; the tools are: extract-title"


def test_a_run_made_through_the_server_is_a_resource(transcript: dict[str, Any]) -> None:
    run_id = transcript["call"].meta["run_id"]
    (resource,) = transcript["resources"]
    assert (str(resource.uri), resource.description) == (f"symphony://runs/{run_id}", "extract-title: succeeded")
    assert [template.uri_template for template in transcript["templates"]] == ["symphony://runs/{id}"]


def test_reading_a_run_gives_its_state_and_outputs(transcript: dict[str, Any]) -> None:
    run_id = transcript["call"].meta["run_id"]
    document = json.loads(transcript["run"].contents[0].text)
    assert document["run_id"] == run_id
    assert (document["state"], document["nodes_done"], document["outputs"]["found"]) == ("succeeded", 3, True)


def test_why_a_document_is_not_offered_is_said_on_stderr_not_stdout(runner: Symphony, project: Path) -> None:
    result = serve_once(runner, project, ".")
    assert result.stdout == ""
    assert "not offered: broken.toml: invalid: [unknown_contribution]" in result.stderr
    assert "1 workflow(s) offered as tools: extract-title" in result.stderr


@pytest.mark.slow
def test_a_node_named_with_node_is_a_tool_that_runs_it_alone(runner: Symphony, project: Path) -> None:
    async def session(client: Client) -> tuple[list[str], Any]:
        names = [tool.name for tool in (await client.list_tools()).tools]
        return names, await client.call_tool("node.json-parse", {"text": '{"a": [1, 2]}'})

    names, result = asyncio.run(over_stdio(runner, project, session, "--node", "json-parse", "."))
    assert names == ["extract-title", "node.json-parse"]
    assert structured(result) == {"value": {"a": [1, 2]}}


@pytest.mark.parametrize(
    ("node", "why"),
    [
        ("text-template", "operator text-template: invalid: [bad_config]"),
        ("no-such", "node no-such: no instrument or operator of that name is installed"),
    ],
)
def test_a_node_that_cannot_be_offered_is_a_usage_error_saying_why(
    runner: Symphony, project: Path, node: str, why: str
) -> None:
    result = serve_once(runner, project, "--node", node, ".")
    assert result.returncode == 2
    assert f"--node cannot be offered: {why}" in result.stderr
    assert "Traceback" not in result.stderr and "offered as tools" not in result.stderr


_BYTES = Workflow(schema_version=1, id="b", name="b", inputs={"blob": PortSpec(type="bytes")})


def test_a_bytes_argument_is_base64_text() -> None:
    assert check_arguments(_BYTES, {"blob": "aGk="}) is None
    assert check_arguments(_BYTES, {"blob": "not base64!"}) == "argument 'blob' (bytes) must be base64 text"


def test_bytes_outputs_are_sent_base64_encoded_and_values_without_json_form_are_refused() -> None:
    assert json_outputs({"blob": b"hi", "n": 1}) == {"blob": "aGk=", "n": 1}
    assert json_outputs({"thing": object()}) is None


def test_only_the_latest_runs_are_kept_in_memory_however_many_calls_a_client_makes() -> None:
    bridge = Bridge(cast(HostContext, None), {})
    for index in range(MAX_RUNS_KEPT + 5):
        bridge.remember({"run_id": f"r{index}", "workflow": "w", "state": "succeeded", "outputs": {}})
    assert len(bridge.runs) == MAX_RUNS_KEPT
    assert "r4" not in bridge.runs and f"r{MAX_RUNS_KEPT + 4}" in bridge.runs


_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}


def _peak_kib(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def _speak(runner: Symphony, project: Path, lines: list[str]) -> tuple[dict[Any, Any], int]:
    """Initialize a stdio server by hand, then send ``lines`` and a tools/list (id 2): the answers by id, and how
    much the server's peak memory grew (KiB) from its ready state to that answer."""
    process = subprocess.Popen(
        [str(SYMPHONY), "mcp", "serve", "."],
        cwd=project,
        env=runner.env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    answers: dict[Any, Any] = {}

    def send(*messages: str) -> None:
        assert process.stdin is not None
        process.stdin.write("\n".join(messages) + "\n")
        process.stdin.flush()

    def until(answer_id: int) -> None:
        assert process.stdout is not None
        while answer_id not in answers:
            line = process.stdout.readline()
            assert line, f"the server exited ({process.poll()}) before answering request {answer_id}"
            message = json.loads(line)
            answers[message.get("id")] = message

    try:
        send(json.dumps(_INITIALIZE), json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        until(1)
        ready = _peak_kib(process.pid)
        send(*lines, json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}))
        until(2)
        grown = _peak_kib(process.pid) - ready
    finally:
        process.kill()
        process.wait(timeout=60)
    assert [tool["name"] for tool in answers[2]["result"]["tools"]] == ["extract-title"]
    return answers, grown


def test_garbage_on_stdin_costs_an_error_each_and_leaves_the_server_answering(runner: Symphony, project: Path) -> None:
    garbage = [
        "not json at all",
        "{" + "x" * (8 * 1024 * 1024),
        json.dumps({"jsonrpc": "2.0", "id": 0, "method": "no/such"}),
    ]
    answers, _ = _speak(runner, project, garbage)
    assert answers[0]["error"]["code"] == -32601  # method not found: an answer, not a crash


def test_a_line_far_beyond_the_bound_does_not_grow_the_server_with_it(runner: Symphony, project: Path) -> None:
    """64 MiB without a newline are read in pieces of at most MAX_LINE characters, each refused and dropped."""
    _, grown = _speak(runner, project, ["x" * (16 * MAX_LINE)])
    assert grown < 8 * MAX_LINE // 1024  # KiB: a few pieces' worth, not the line
