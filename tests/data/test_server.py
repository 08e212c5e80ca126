"""``symphony data serve``: the real command in a subprocess, reached over HTTP (and TLS) on PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.server import bind, is_loopback
from symphony.hookspecs import NetworkError
from symphony.hookspecs.ports import CreateWorkflowRequest, WorkflowRecord
from tests.conftest import parse_json
from tests.serving import tls_files

from .conftest import DEADLINE, Serve

if TYPE_CHECKING:
    from tests.conftest import Symphony

SPEC: dict[str, Any] = {"schema_version": 1, "id": "hello", "name": "hello"}


def _admin_token(home: Symphony, database: str) -> str:
    """A token of the database's local admin, made the way an operator would: `symphony data tokens create`."""
    made = parse_json(home.run("data", "tokens", "create", "--name", "test", "--database", database, "--json"))
    token: str = made["token"]
    return token


async def _all_workflows(client: DataClient) -> list[WorkflowRecord]:
    records: list[WorkflowRecord] = []
    cursor = None
    while True:
        page = await client.list_workflows(limit=200, cursor=cursor)
        records.extend(page.items)
        if page.next_cursor is None:
            return records
        cursor = page.next_cursor


def test_localhost_and_loopback_addresses_are_loopback_and_nothing_else_is() -> None:
    assert [is_loopback(h) for h in ("localhost", "127.0.0.1", "127.8.9.1", "::1", "[::1]")] == [True] * 5
    assert [is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "example.org", "localhost.example.org")] == [
        False
    ] * 5


def test_a_non_loopback_bind_without_tls_is_refused_before_the_database_is_touched(home: Symphony) -> None:
    result = home.run("data", "serve", "--host", "0.0.0.0")
    assert result.returncode == 1
    assert "Refusing to serve on 0.0.0.0 without TLS" in result.stderr
    assert "--tls-cert" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (home.data_dir / "data" / "service.db").exists()


def test_half_a_tls_setup_is_refused(home: Symphony, tmp_path: Path) -> None:
    certificate = tmp_path / "cert.pem"
    certificate.write_text("not used")
    result = home.run("data", "serve", "--tls-cert", str(certificate))
    assert result.returncode == 1
    assert "TLS needs both --tls-cert and --tls-key" in result.stderr


def test_an_unreachable_database_is_one_clear_error_without_its_password(home: Symphony, tmp_path: Path) -> None:
    url = f"postgresql://someone:hunter2@/nothing?host={tmp_path}"
    result = home.run("data", "serve", "--database", url)
    assert result.returncode == 1
    assert "Cannot use the database postgresql://someone:***@/nothing" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_serve_migrates_the_database_and_answers_health_over_http(
    serve: Serve, home: Symphony, database_url: str
) -> None:
    server = serve(home, "--database", database_url)
    assert server.first_line.startswith("listening on http://127.0.0.1:")
    health = httpx.get(f"{server.url}/v1/health", timeout=DEADLINE)
    assert health.status_code == 200
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    assert health.json() == {"status": "ok", "database": dialect, "schema_revision": health.json()["schema_revision"]}
    assert health.json()["schema_revision"]


async def test_a_workflow_written_over_http_on_postgresql_reads_back(
    serve: Serve, home: Symphony, postgres_url: str
) -> None:
    token = _admin_token(home, postgres_url)
    server = serve(home, "--database", postgres_url)
    async with DataClient.remote(server.url, token) as client:
        created = await client.create_workflow(CreateWorkflowRequest(name="over-http", spec=SPEC))
        assert await client.get_workflow(created.id) == created


def test_json_announces_the_url_and_schema_revision(serve: Serve, home: Symphony) -> None:
    server = serve(home, "--json")
    announced = json.loads(server.first_line)
    assert announced["url"].startswith("http://127.0.0.1:")
    assert announced["schema_revision"]


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_the_server_gracefully_with_exit_0(
    serve: Serve, home: Symphony, number: signal.Signals
) -> None:
    server = serve(home)
    assert httpx.get(f"{server.url}/v1/health", timeout=DEADLINE).status_code == 200
    code, stderr = server.stop(number)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/v1/health", timeout=DEADLINE)


def test_a_request_in_flight_at_sigterm_is_answered_before_the_server_exits(serve: Serve, home: Symphony) -> None:
    database = f"sqlite:///{home.home / 'flight.db'}"
    token = _admin_token(home, database)
    server = serve(home, "--database", database)
    # A body sent slowly keeps the request in flight while SIGTERM arrives.
    halfway = threading.Event()

    def body() -> Iterator[bytes]:
        yield b'{"name": "in-flight", '
        halfway.set()
        time.sleep(1.0)
        yield b'"spec": {"schema_version": 1, "id": "hello", "name": "hello"}}'

    outcome: list[httpx.Response] = []

    def post() -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        outcome.append(httpx.post(f"{server.url}/v1/workflows", content=body(), headers=headers, timeout=DEADLINE))

    poster = threading.Thread(target=post)
    poster.start()
    assert halfway.wait(DEADLINE)
    code, stderr = server.stop(signal.SIGTERM)
    poster.join(DEADLINE)
    assert code == 0, stderr
    assert outcome and outcome[0].status_code == 201, outcome
    assert outcome[0].json()["name"] == "in-flight"


def test_tls_serves_https_on_a_non_loopback_bind(serve: Serve, home: Symphony, tmp_path: Path) -> None:
    tls = tls_files(tmp_path)
    server = serve(home, "--host", "0.0.0.0", *tls.args)
    assert server.first_line.startswith("listening on https://0.0.0.0:")
    port = server.url.rsplit(":", 1)[1]
    assert httpx.get(f"https://127.0.0.1:{port}/v1/health", verify=tls.verify, timeout=DEADLINE).status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=DEADLINE)


@pytest.mark.slow
async def test_a_service_killed_mid_request_loses_no_committed_write_and_retries_are_idempotent(
    serve: Serve, home: Symphony, postgres_url: str
) -> None:
    token = _admin_token(home, postgres_url)
    server = serve(home, "--database", postgres_url)
    port = server.url.rsplit(":", 1)[1]
    succeeded: dict[str, str] = {}
    failed: list[str] = []

    async with DataClient.remote(server.url, token, timeout=DEADLINE) as client:

        async def writer(number: int) -> None:
            for attempt in range(10_000):
                name = f"writer{number}-{attempt}"
                try:
                    record = await client.create_workflow(CreateWorkflowRequest(name=name, spec=SPEC))
                except NetworkError:
                    failed.append(name)
                    return
                succeeded[name] = record.id

        writers = [asyncio.create_task(writer(n)) for n in range(8)]
        end = time.monotonic() + DEADLINE
        while len(succeeded) < 40:
            assert time.monotonic() < end, "the writers made no progress"
            await asyncio.sleep(0.005)
        server.process.send_signal(signal.SIGKILL)  # mid-request: eight writers each have one in flight
        await asyncio.wait_for(asyncio.gather(*writers), DEADLINE)
        assert len(failed) == 8

        serve(home, "--database", postgres_url, "--port", port)  # the same URL, so the client's retries reach it
        retried = {name: await client.create_workflow(CreateWorkflowRequest(name=name, spec=SPEC)) for name in failed}
        stored = {record.name: record.id for record in await _all_workflows(client)}

    assert {name: stored[name] for name in succeeded} == succeeded  # every acknowledged write survived the kill
    assert {name: stored[name] for name in failed} == {name: record.id for name, record in retried.items()}
    assert sorted(stored) == sorted([*succeeded, *failed])  # and no retry made a second copy


def test_the_server_logs_no_token_it_was_sent(serve: Serve, home: Symphony) -> None:
    database = f"sqlite:///{home.home / 'logged.db'}"
    token = _admin_token(home, database)
    server = serve(home, "--database", database)
    wrong = "sym_" + "x" * 43
    for sent in (token, wrong):
        headers = {"Authorization": f"Bearer {sent}"}
        httpx.post(
            f"{server.url}/v1/workflows", json={"name": "logged", "spec": SPEC}, headers=headers, timeout=DEADLINE
        )
        httpx.get(f"{server.url}/v1/users", params={"cursor": sent}, headers=headers, timeout=DEADLINE)
    code, stderr = server.stop()
    assert server.process.stdout is not None
    output = server.process.stdout.read().decode() + stderr
    assert code == 0, output
    assert token not in output
    assert wrong not in output


def test_a_certificate_that_is_not_pem_is_one_clear_error(home: Symphony, tmp_path: Path) -> None:
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.write_text("not a certificate")
    key.write_text("not a key")
    result = home.run("data", "serve", "--tls-cert", str(certificate), "--tls-key", str(key))
    assert result.returncode == 1
    assert "Cannot use --tls-cert/--tls-key" in result.stderr
    assert "Traceback" not in result.stderr


async def test_connections_to_the_server_socket_send_small_writes_at_once() -> None:
    # With Nagle on, a keep-alive response's second write waits for the client's delayed ACK (~40 ms a request).
    sock = bind("127.0.0.1", 0)
    nodelay: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            nodelay.append(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
        end = time.monotonic() + DEADLINE
        while not nodelay:
            assert time.monotonic() < end, "no connection arrived"
            await asyncio.sleep(0.01)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert nodelay == [1]
