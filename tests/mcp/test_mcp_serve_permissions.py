"""``symphony mcp serve`` and the permission checker: an MCP client gets no more than ``symphony run`` would.

Over the confined sample fetcher (a real subprocess extension that may reach
127.0.0.1 only, through the host): a workflow whose extension lacks a grant is
not offered; a request the checker denies at run time fails the call with the
denial and is in the audit log; a granted one makes its real round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from mcp import Client

from tests.extensions.e2e import LoopbackServer, loopback_server
from tests.mcp.mcp_serving import over_stdio, structured

if TYPE_CHECKING:
    from tests.conftest import Installer, Symphony

pytestmark = pytest.mark.slow

ASK = """\
schema_version = 1
id = "ask"
name = "Ask the endpoint"
[inputs]
text = { type = "string" }
[outputs]
answer = "ask.answer"
[nodes.ask]
kind = "instrument"
uses = "ask-endpoint"
[[edges]]
kind = "data"
from = "inputs.text"
to = "ask.text"
"""


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with loopback_server() as running:
        yield running


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ask.toml").write_text(ASK, encoding="utf-8")
    return tmp_path


def _fetcher(installer: Installer, symphony: Callable[..., Symphony], endpoint: str, *grants: str) -> Symphony:
    runner = symphony(installer.site("end-to-end"), SYMPHONY_EXTENSIONS__CONFIG__SAMPLE_FETCHER__ENDPOINT=endpoint)
    if grants:
        result = runner.run("ext", "grant", "sample-fetcher", *grants)
        assert result.returncode == 0, result.stderr
    return runner


def _ask(runner: Symphony, project: Path) -> tuple[list[str], Any]:
    async def session(client: Client) -> tuple[list[str], Any]:
        names = [tool.name for tool in (await client.list_tools()).tools]
        return names, (await client.call_tool("ask", {"text": "hi"}) if names else None)

    return asyncio.run(over_stdio(runner, project, session))


def test_a_workflow_whose_extension_lacks_a_grant_is_not_offered(
    installer: Installer, symphony: Callable[..., Symphony], server: LoopbackServer, project: Path
) -> None:
    runner = _fetcher(installer, symphony, server.url("/answer"))
    names, _ = _ask(runner, project)
    assert names == []
    assert server.hits == []


def test_a_granted_extension_makes_its_real_round_trip_for_an_mcp_client(
    installer: Installer, symphony: Callable[..., Symphony], server: LoopbackServer, project: Path
) -> None:
    runner = _fetcher(installer, symphony, server.url("/answer"), "network:127.0.0.1")
    names, result = _ask(runner, project)
    assert names == ["ask"]
    assert structured(result) == {"answer": "echo: hi"}
    assert [(hit.method, hit.body) for hit in server.hits] == [("POST", "hi")]


def test_a_request_denied_at_run_time_fails_the_call_with_the_denial_and_is_audited(
    installer: Installer, symphony: Callable[..., Symphony], server: LoopbackServer, project: Path
) -> None:
    runner = _fetcher(installer, symphony, server.url("/answer", host="localhost"), "network:127.0.0.1")
    _, result = _ask(runner, project)
    assert result.is_error
    assert f"Denied network:localhost:{server.port} to extension 'sample-fetcher'" in result.content[0].text
    assert server.hits == []
    entries = runner.json("audit", "--extension", "sample-fetcher", "--decision", "denied")
    assert [(entry["permission"], entry["rule"]) for entry in entries] == [
        (f"network:localhost:{server.port}", "not_declared")
    ]
