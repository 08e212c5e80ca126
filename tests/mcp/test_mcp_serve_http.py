"""``symphony mcp serve --http``: streamable HTTP on loopback behind a bearer token, with the SDK's client."""

from __future__ import annotations

import asyncio
import selectors
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.conftest import SYMPHONY, Symphony
from tests.mcp.mcp_serving import make_project, serve_once, structured
from tests.serving import tls_files

TOKEN = "mcp-test-token-7c1f0a"
_START_DEADLINE = 120.0


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Symphony:
    return Symphony(sites=(), home=tmp_path_factory.mktemp("home"))


def _wait_for_address(process: subprocess.Popen[str]) -> tuple[str, list[str]]:
    """The URL the server prints once it listens, and what it printed before; fails if it exits or is silent."""
    assert process.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + _START_DEADLINE
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=1.0):
                continue
            line = process.stderr.readline()
            if not line:
                pytest.fail(f"mcp serve exited {process.wait()}:\n{''.join(seen)}")
            seen.append(line)
            if "listening on " in line:
                return line.rsplit(" ", 1)[1].strip(), seen
    pytest.fail(f"mcp serve did not listen within {_START_DEADLINE} s:\n{''.join(seen)}")


def _start(runner: Symphony, cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``symphony mcp serve --http --port 0 ARGS`` in ``cwd``, its stderr readable."""
    command = [str(SYMPHONY), "mcp", "serve", "--http", "--port", "0", *args]
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=runner.env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def url(runner: Symphony, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("http")
    project = make_project(root)
    token_file = root / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    process = _start(runner, project, "--token-file", str(token_file), ".")
    try:
        yield _wait_for_address(process)[0]
    finally:
        process.terminate()
        process.wait(timeout=60)


async def _with_token(url: str, token: str) -> tuple[list[str], Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=120) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        names = [tool.name for tool in (await client.list_tools()).tools]
        return names, await client.call_tool("extract-title", {"html": "<title>Over HTTP</title>"})


def test_a_client_with_the_token_lists_and_calls_the_workflows(url: str) -> None:
    names, result = asyncio.run(_with_token(url, TOKEN))
    assert names == ["extract-title"]
    assert structured(result) == {"sentence": "The page is called Over HTTP.", "found": True}


_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def test_a_request_without_a_token_is_refused_401(url: str) -> None:
    response = httpx.post(url, json=_INITIALIZE, headers=_HEADERS, timeout=60)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_request_with_a_wrong_token_is_refused_401(url: str) -> None:
    response = httpx.post(url, json=_INITIALIZE, headers={**_HEADERS, "Authorization": "Bearer nope"}, timeout=60)
    assert response.status_code == 401


def test_the_sdk_client_with_a_wrong_token_gets_no_session(url: str) -> None:
    with pytest.raises(ExceptionGroup) as raised:  # the SDK reports the 401 as an error response of its own
        asyncio.run(_with_token(url, "wrong"))
    assert raised.group_contains(MCPError, match="error response")


def test_a_request_with_the_token_is_answered(url: str) -> None:
    response = httpx.post(url, json=_INITIALIZE, headers={**_HEADERS, "Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert response.status_code == 200


def test_binding_beyond_loopback_without_tls_is_refused(runner: Symphony, tmp_path: Path) -> None:
    result = serve_once(runner, tmp_path, "--http", "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "--host 0.0.0.0 is reachable from other machines: serve it with --tls-cert and --tls-key" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_token_is_made_and_printed_when_none_is_given_and_it_is_the_one_accepted(
    runner: Symphony, tmp_path: Path
) -> None:
    process = _start(runner, tmp_path)
    try:
        address, printed = _wait_for_address(process)
        (line,) = [line for line in printed if "bearer token" in line]
        token = line.rsplit(" ", 1)[1].strip()
        accepted = httpx.post(address, json=_INITIALIZE, headers={**_HEADERS, "Authorization": f"Bearer {token}"})
    finally:
        process.terminate()
        process.communicate(timeout=60)
    assert address.startswith("http://127.0.0.1:")
    assert accepted.status_code == 200


def test_tls_lets_it_bind_beyond_loopback_and_serves_https_only(runner: Symphony, tmp_path: Path) -> None:
    tls = tls_files(tmp_path)
    process = _start(runner, tmp_path, "--host", "0.0.0.0", *tls.args, env={"SYMPHONY_MCP_TOKEN": TOKEN})
    try:
        address, _ = _wait_for_address(process)
        port = address.rsplit(":", 1)[1].removesuffix("/mcp")
        headers = {**_HEADERS, "Authorization": f"Bearer {TOKEN}"}
        answered = httpx.post(f"https://127.0.0.1:{port}/mcp", json=_INITIALIZE, headers=headers, verify=tls.verify)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(f"http://127.0.0.1:{port}/mcp", json=_INITIALIZE, headers=headers)
    finally:
        process.terminate()
        process.communicate(timeout=60)
    assert address.startswith("https://0.0.0.0:")
    assert answered.status_code == 200


def test_a_body_beyond_the_sdks_bound_is_refused_413_and_the_server_answers_on(url: str) -> None:
    """An authenticated but hostile client cannot make the server buffer a huge request (the SDK's 4 MiB bound)."""
    headers = {**_HEADERS, "Authorization": f"Bearer {TOKEN}"}
    huge = b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "' + b"x" * (8 * 1024 * 1024) + b'"}}'
    refused = httpx.post(url, content=huge, headers=headers, timeout=120)
    answered = httpx.post(url, json=_INITIALIZE, headers=headers, timeout=60)
    assert (refused.status_code, answered.status_code) == (413, 200)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"\xff\xfe not text", "is not UTF-8 text"),
        (b"two words and more\n", "cannot be sent as a bearer token"),
        (b"short\n", "cannot be sent as a bearer token"),
    ],
)
def test_a_token_file_that_cannot_hold_a_token_is_a_usage_error(
    runner: Symphony, tmp_path: Path, content: bytes, said: str
) -> None:
    token_file = tmp_path / "token"
    token_file.write_bytes(content)
    result = serve_once(runner, tmp_path, "--http", "--port", "0", "--token-file", str(token_file))
    assert result.returncode == 2
    assert said in result.stderr
    assert "Traceback" not in result.stderr and "listening on" not in result.stderr


def test_a_port_in_use_is_one_clear_line(runner: Symphony, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = serve_once(runner, tmp_path, "--http", "--port", str(port), env={"SYMPHONY_MCP_TOKEN": TOKEN})
    assert result.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_token_given_is_never_written_to_the_servers_output(runner: Symphony, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    process = _start(runner, make_project(tmp_path), "--token-file", str(token_file), ".")
    try:
        address, printed = _wait_for_address(process)
        headers = {**_HEADERS, "Authorization": f"Bearer {TOKEN}"}
        statuses = [
            httpx.post(address, json=_INITIALIZE, headers=headers, timeout=60).status_code,
            httpx.post(address, json=_INITIALIZE, headers={**headers, "Authorization": f"Bearer {TOKEN}x"}).status_code,
            httpx.post(address, content=b"{not json", headers=headers, timeout=60).status_code,
        ]
    finally:
        process.terminate()
        _, rest = process.communicate(timeout=60)
    assert statuses[:2] == [200, 401] and statuses[2] >= 400
    assert TOKEN not in "".join(printed) + rest


def test_a_token_file_others_may_read_is_warned_of_and_still_served(runner: Symphony, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    token_file.chmod(0o644)
    process = _start(runner, tmp_path, "--token-file", str(token_file))
    try:
        _, printed = _wait_for_address(process)
    finally:
        process.terminate()
        process.communicate(timeout=60)
    assert f"mcp serve: warning: other users may read {token_file}; chmod 600 it.\n" in printed
