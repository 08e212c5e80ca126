"""The direct transport (the embedded default): the service's handlers without HTTP, held to the HTTP app's behaviour.

The use cases themselves run over it in test_client.py (parametrised ``direct``/``asgi``); here: what only the
direct path could get wrong (routing, limits, problems, failures, logs, the event loop) and its parity with the app.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy.engine import make_url

from symphony.builtin_plugins.data.client import DataClient, HttpTransport
from symphony.builtin_plugins.data.direct import DirectTransport
from symphony.builtin_plugins.data.embedded import EmbeddedService, open_embedded
from symphony.builtin_plugins.data.service.rules import builtin_rules
from symphony.hookspecs import (
    AuthorizationError,
    ConfigurationError,
    DataError,
    DataRule,
    NotFoundError,
    ValidationError,
    WorkflowId,
)
from symphony.hookspecs.ports import CreateTokenRequest, CreateUserRequest, CreateWorkflowRequest, UpdateWorkflowRequest
from symphony.host import Host, Settings

from .conftest import PostgresServer

ROOT = Path(__file__).parents[2]
SPEC: dict[str, Any] = tomllib.loads((ROOT / "examples" / "welcome.toml").read_text())
DEADLINE = 30.0
GENERIC = "The data service failed; the error is in its log."


def _explode(action: str, record: Any, before: Any) -> None:
    if record.get("name") == "explode":
        raise RuntimeError("the rule broke: sym_not-for-the-caller")


@pytest.fixture
def service(tmp_path: Path, database_url: str) -> Iterator[EmbeddedService]:
    rules = [*builtin_rules(), DataRule(name="explode", resource="workflow", check=_explode)]
    service = open_embedded(tmp_path / "data", database_url, rules)
    yield service
    service.close()


@pytest.fixture
async def admin(service: EmbeddedService) -> AsyncIterator[DataClient]:
    async with service.client() as client:
        yield client


def _asgi(service: EmbeddedService, token: str) -> HttpTransport:
    app = httpx.ASGITransport(app=service.app)
    headers = {"Authorization": f"Bearer {token}"}
    return HttpTransport(httpx.AsyncClient(transport=app, base_url="http://data", headers=headers))


def _host(tmp_path: Path, **options: Any) -> Host:
    settings = Settings(
        data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", components={"data": {"options": options}}
    )
    return Host(settings).load()


async def test_the_embedded_default_calls_the_service_directly(tmp_path: Path) -> None:
    host = _host(tmp_path)
    await host.start()
    try:
        port = host.port("data_access")
        assert isinstance(port, DataClient) and isinstance(port._transport, DirectTransport)
        created = await port.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
        assert await port.get_workflow(created.id) == created
    finally:
        await host.stop()


async def test_the_asgi_option_runs_embedded_requests_through_the_http_app(tmp_path: Path) -> None:
    host = _host(tmp_path, transport="asgi")
    await host.start()
    try:
        port = host.port("data_access")
        assert isinstance(port, DataClient) and isinstance(port._transport, HttpTransport)
        assert (await port.me()).role == "admin"
    finally:
        await host.stop()


def test_a_transport_option_beside_a_url_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="applies to the embedded service only; remove it, or remove url"):
        _host(tmp_path, url="https://data.example.org", transport="asgi")


async def test_the_health_of_the_service_is_its_own(admin: DataClient, database_url: str) -> None:
    health = await admin.health()
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    assert (health["status"], health["database"]) == ("ok", dialect)
    assert health["schema_revision"]


async def _viewer(service: EmbeddedService, admin: DataClient) -> DataClient:
    user = await admin.create_user(CreateUserRequest(name="vic", email="vic@example.org", role="viewer"))
    return service.client((await admin.create_token(CreateTokenRequest(name="t", user_id=user.id))).token)


async def test_an_unknown_token_is_an_authorization_error(service: EmbeddedService) -> None:
    async with service.client("sym_not-a-token") as stranger:
        with pytest.raises(AuthorizationError, match="unknown, revoked or expired") as raised:
            await stranger.me()
    assert type(raised.value) is AuthorizationError


async def test_a_forbidden_write_is_an_authorization_error(service: EmbeddedService, admin: DataClient) -> None:
    async with await _viewer(service, admin) as viewer:
        with pytest.raises(AuthorizationError, match="Only an admin may create users") as raised:
            await viewer.create_user(CreateUserRequest(name="eve", email="eve@example.org"))
    assert type(raised.value) is AuthorizationError


async def test_an_unknown_workflow_is_a_not_found_error(admin: DataClient) -> None:
    with pytest.raises(NotFoundError) as raised:
        await admin.update_workflow(UpdateWorkflowRequest(id=WorkflowId("nope"), spec=SPEC, expected_version=1))
    assert type(raised.value) is NotFoundError


async def test_a_stale_version_and_a_refused_rule_are_validation_errors(admin: DataClient) -> None:
    created = await admin.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
    await admin.update_workflow(UpdateWorkflowRequest(id=created.id, spec=SPEC, expected_version=1))
    with pytest.raises(ValidationError, match="is at version 2, not 1"):
        await admin.update_workflow(UpdateWorkflowRequest(id=created.id, spec=SPEC, expected_version=1))
    with pytest.raises(ValidationError, match=r"\(rule 'workflow-spec'\)"):
        await admin.create_workflow(CreateWorkflowRequest(name="empty", spec={}))


async def test_too_many_failed_token_checks_are_a_rate_limited_data_error(service: EmbeddedService) -> None:
    async with service.client("sym_wrong") as stranger:
        for _ in range(service.service.settings.max_failed_token_checks):
            with pytest.raises(AuthorizationError):
                await stranger.me()
        with pytest.raises(DataError, match="Too many failed token checks") as raised:
            await stranger.me()
    assert type(raised.value) is DataError


async def test_a_body_over_the_limit_is_refused_before_the_database(service: EmbeddedService) -> None:
    transport = DirectTransport(service.service, service.token)
    limit = service.service.settings.max_body_bytes
    answer = await transport.request("POST", "/v1/users", query=None, body=b" " * (limit + 1), key=None)
    assert answer.status == 413
    assert msgspec.json.decode(answer.content)["category"] == "data.validation"


async def test_an_idempotency_key_over_128_characters_is_refused(service: EmbeddedService) -> None:
    transport = DirectTransport(service.service, service.token)
    body = msgspec.json.encode({"name": "welcome", "spec": SPEC})
    answer = await transport.request("POST", "/v1/workflows", query=None, body=body, key="k" * 129)
    assert (answer.status, msgspec.json.decode(answer.content)["category"]) == (422, "data.validation")


async def test_an_exception_inside_a_handler_is_the_generic_data_error_and_logged(
    admin: DataClient, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(DataError) as raised:
        await admin.create_workflow(CreateWorkflowRequest(name="explode", spec=SPEC))
    assert (type(raised.value), str(raised.value)) == (DataError, GENERIC)
    assert raised.value.__cause__ is None and raised.value.__context__ is None  # no traceback of the service
    assert "RuntimeError: the rule broke" in caplog.text  # the operator's copy, in the service's log
    assert [w.name for w in (await admin.list_workflows()).items] == []  # and nothing was stored


async def test_a_write_repeated_with_its_key_is_done_once_and_answered_again(
    service: EmbeddedService, admin: DataClient
) -> None:
    transport = DirectTransport(service.service, service.token)
    body = msgspec.json.encode({"name": "welcome", "spec": SPEC})
    first = await transport.request("POST", "/v1/workflows", query=None, body=body, key="retry-1")
    again = await transport.request("POST", "/v1/workflows", query=None, body=body, key="retry-1")
    assert (first.status, again) == (201, first)
    assert [w.name for w in (await admin.list_workflows()).items] == ["welcome"]
    other = await transport.request("POST", "/v1/workflows", query=None, body=body + b" ", key="retry-1")
    assert other.status == 422 and b"used for a different request" in other.content


async def test_a_replayed_token_creation_is_refused_since_its_secret_was_shown_once(service: EmbeddedService) -> None:
    transport = DirectTransport(service.service, service.token)
    body = msgspec.json.encode({"name": "laptop"})
    first = await transport.request("POST", "/v1/tokens", query=None, body=body, key="token-1")
    again = await transport.request("POST", "/v1/tokens", query=None, body=body, key="token-1")
    assert (first.status, again.status) == (201, 409)
    assert msgspec.json.decode(first.content)["token"].encode() not in again.content


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/nothing", None),
        ("DELETE", "/v1/me", None),
        ("PATCH", "/v1/workflows", b"{}"),
        ("GET", "/v1/workflows/no-such-workflow", None),
        ("GET", "/v1/workflows/a%2Fb", None),
        ("GET", "/v1/workflows/x/versions/one", None),
        ("POST", "/v1/users", b'{"name": "ada"}'),
        ("POST", "/v1/workflows", b"not json"),
        ("GET", "/v1/users?limit=100000", None),
    ],
)
async def test_a_refusal_is_the_same_problem_directly_and_over_http(
    service: EmbeddedService, method: str, path: str, body: bytes | None
) -> None:
    path, _, query = path.partition("?")
    params = dict([query.split("=")]) if query else None
    direct = await DirectTransport(service.service, service.token).request(
        method, path, query=params, body=body, key=None
    )
    asgi = _asgi(service, service.token)
    try:
        over_http = await asgi.request(method, path, query=params, body=body, key=None)
    finally:
        await asgi.aclose()
    assert direct.status >= 400
    assert (direct.status, direct.content_type, direct.content) == (
        over_http.status,
        over_http.content_type,
        over_http.content,
    )


async def test_no_token_reaches_the_logs(
    service: EmbeddedService, admin: DataClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = await admin.create_token(CreateTokenRequest(name="ci"))
    await admin.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
    with pytest.raises(DataError):
        await admin.create_workflow(CreateWorkflowRequest(name="explode", spec=SPEC))
    async with service.client("sym_wrong") as stranger:
        with pytest.raises(AuthorizationError):
            await stranger.me()
    assert caplog.records, "nothing was logged, so the check proves nothing"
    assert all(secret not in caplog.text for secret in (service.token, made.token, "sym_wrong"))
    assert service.token not in repr(admin._transport)


async def test_a_write_waiting_for_another_writer_leaves_the_event_loop_running(tmp_path: Path) -> None:
    """Inline transactions never wait on the loop: one that meets a lock is run again in a thread, where it waits."""
    service = open_embedded(tmp_path / "data")
    blocker = sqlite3.connect(tmp_path / "data" / "service.db", isolation_level=None)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())
    try:
        async with service.client() as client:
            blocker.execute("BEGIN IMMEDIATE")  # another writer (a process, say) holds the write lock
            write = asyncio.create_task(client.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC)))
            end = time.monotonic() + DEADLINE
            while ticks < 50 and time.monotonic() < end:  # the loop keeps running while the write waits
                await asyncio.sleep(0.01)
            assert not write.done() and ticks >= 50
            blocker.execute("COMMIT")
            created = await asyncio.wait_for(write, DEADLINE)
            assert await client.get_workflow(created.id) == created
    finally:
        ticker.cancel()
        blocker.close()
        service.close()


async def test_a_database_connection_the_server_dropped_is_replaced_on_use(
    postgres_server: PostgresServer, postgres_url: str, tmp_path: Path
) -> None:
    """No pre-ping on checkout: a pooled connection PostgreSQL closed fails on use and the request runs again."""
    import psycopg

    service = open_embedded(tmp_path / "data", postgres_url)
    try:
        async with service.client() as client:
            created = await client.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
            database = make_url(postgres_url).database
            with psycopg.connect(postgres_server.conninfo(), autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()) AS t",
                    (database,),
                ).fetchone()
            assert killed is not None and killed[0] >= 1  # the pool's idle connections are gone
            assert await client.get_workflow(created.id) == created
            again = await client.create_workflow(CreateWorkflowRequest(name="again", spec=SPEC))
            assert again.version == 1
    finally:
        service.close()
