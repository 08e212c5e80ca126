"""DataClient against the real service in process, on SQLite and PostgreSQL: each use case, each error, retries.

Every test runs over both in-process transports: ``direct`` (the service's handlers, the embedded default) and
``asgi`` (the whole HTTP app through httpx), so the two are held to the same behaviour.
"""

from __future__ import annotations

import socket
import tomllib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from symphony.builtin_plugins.data.client import Answer, DataClient, HttpTransport, Transport
from symphony.builtin_plugins.data.direct import DirectTransport
from symphony.builtin_plugins.data.embedded import EmbeddedService, open_embedded
from symphony.hookspecs import (
    AuthorizationError,
    NetworkError,
    NotFoundError,
    UserId,
    ValidationError,
    WorkflowId,
)
from symphony.hookspecs.ports import (
    CreateTokenRequest,
    CreateUserRequest,
    CreateWorkflowRequest,
    DataAccessPort,
    UpdateWorkflowRequest,
)

ROOT = Path(__file__).parents[2]
SPEC: dict[str, Any] = tomllib.loads((ROOT / "examples" / "welcome.toml").read_text())


@pytest.fixture
def service(tmp_path: Path, database_url: str) -> Iterator[EmbeddedService]:
    service = open_embedded(tmp_path / "data", database_url)
    yield service
    service.close()


@pytest.fixture(params=["direct", "asgi"])
def connect(request: pytest.FixtureRequest, service: EmbeddedService) -> Callable[[str], Transport]:
    """``connect(token)``: a transport to the service as ``token``, directly or through the ASGI app."""

    def make(token: str) -> Transport:
        if request.param == "direct":
            return DirectTransport(service.service, token)
        app = httpx.ASGITransport(app=service.app)
        return HttpTransport(
            httpx.AsyncClient(transport=app, base_url="http://data", headers={"Authorization": f"Bearer {token}"})
        )

    return make


@pytest.fixture
async def admin(service: EmbeddedService, connect: Callable[[str], Transport]) -> AsyncIterator[DataClient]:
    async with DataClient(connect(service.token)) as client:
        yield client


async def _as(connect: Callable[[str], Transport], admin: DataClient, role: str) -> DataClient:
    """A client holding a new token of a new user with ``role``."""
    user = await admin.create_user(CreateUserRequest(name=role, email=f"{role}@example.org", role=role))
    token = await admin.create_token(CreateTokenRequest(name="t", user_id=user.id))
    return DataClient(connect(token.token))


async def test_the_client_is_a_data_access_port(admin: DataClient) -> None:
    assert isinstance(admin, DataAccessPort)


async def test_a_created_workflow_reads_back_with_its_owner_and_version_1(admin: DataClient) -> None:
    created = await admin.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
    me = await admin.me()
    assert (created.name, created.owner, created.version) == ("welcome", me.id, 1)
    assert await admin.get_workflow(created.id) == created


async def test_an_update_raises_the_version_and_a_stale_one_is_a_validation_error(admin: DataClient) -> None:
    created = await admin.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
    updated = await admin.update_workflow(
        UpdateWorkflowRequest(id=created.id, spec=SPEC, expected_version=1, name="hello")
    )
    assert (updated.name, updated.version) == ("hello", 2)
    with pytest.raises(ValidationError, match="is at version 2, not 1"):
        await admin.update_workflow(UpdateWorkflowRequest(id=created.id, spec=SPEC, expected_version=1))
    assert await admin.get_workflow(created.id) == updated


async def test_an_unknown_workflow_reads_as_none(admin: DataClient) -> None:
    assert await admin.get_workflow(WorkflowId("no-such-workflow")) is None


async def test_an_id_cannot_reach_another_route(admin: DataClient) -> None:
    assert await admin.get_workflow(WorkflowId("../users")) is None
    assert await admin.get_user(UserId("../me")) is None


async def test_updating_an_unknown_workflow_is_a_not_found_error(admin: DataClient) -> None:
    with pytest.raises(NotFoundError):
        await admin.update_workflow(UpdateWorkflowRequest(id=WorkflowId("nope"), spec=SPEC, expected_version=1))


async def test_a_document_the_rules_refuse_is_a_validation_error_naming_the_rule(admin: DataClient) -> None:
    with pytest.raises(ValidationError, match=r"missing required field `schema_version`.*\(rule 'workflow-spec'\)"):
        await admin.create_workflow(CreateWorkflowRequest(name="empty", spec={}))


async def test_an_unknown_token_is_an_authorization_error(connect: Callable[[str], Transport]) -> None:
    async with DataClient(connect("sym_not-a-token")) as stranger:
        with pytest.raises(AuthorizationError, match="unknown, revoked or expired"):
            await stranger.me()


async def test_a_viewer_creating_a_user_is_an_authorization_error(
    connect: Callable[[str], Transport], admin: DataClient
) -> None:
    async with await _as(connect, admin, "viewer") as viewer:
        with pytest.raises(AuthorizationError, match="Only an admin may create users"):
            await viewer.create_user(CreateUserRequest(name="eve", email="eve@example.org"))


async def test_a_shared_workflow_is_listed_for_its_viewer_until_unshared(
    connect: Callable[[str], Transport], admin: DataClient
) -> None:
    created = await admin.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
    async with await _as(connect, admin, "viewer") as viewer:
        me = await viewer.me()
        assert (await viewer.list_workflows()).items == []
        await admin.share_workflow(created.id, me.id, "viewer")
        assert [w.id for w in (await viewer.list_workflows()).items] == [created.id]
        await admin.unshare_workflow(created.id, me.id)
        assert await viewer.get_workflow(created.id) is None


async def test_a_revoked_token_stops_working(connect: Callable[[str], Transport], admin: DataClient) -> None:
    token = await admin.create_token(CreateTokenRequest(name="short-lived"))
    assert [t.name for t in (await admin.list_tokens()).items if t.id == token.id] == ["short-lived"]
    await admin.revoke_token(token.id)
    async with DataClient(connect(token.token)) as revoked:
        with pytest.raises(AuthorizationError):
            await revoked.me()


async def test_every_write_is_in_the_audit_log_newest_first(admin: DataClient) -> None:
    created = await admin.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
    await admin.delete_workflow(created.id)
    page = await admin.list_audit(resource="workflow")
    assert [(entry.action, entry.resource_id) for entry in page.items] == [
        ("delete", created.id),
        ("create", created.id),
    ]
    assert page.items[1].after is not None and page.items[1].after["name"] == "welcome"


async def test_listings_page_with_the_cursor(admin: DataClient) -> None:
    for number in range(3):
        await admin.create_workflow(CreateWorkflowRequest(name=f"w{number}", spec=SPEC))
    first = await admin.list_workflows(limit=2)
    second = await admin.list_workflows(limit=2, cursor=first.next_cursor)
    assert (len(first.items), len(second.items), second.next_cursor) == (2, 1, None)
    assert {w.name for w in first.items + second.items} == {"w0", "w1", "w2"}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_service_is_a_network_error() -> None:
    async with DataClient.remote(f"http://127.0.0.1:{_closed_port()}", "sym_x", timeout=5) as client:
        with pytest.raises(NetworkError, match=r"could not be reached \(ConnectError"):
            await client.get_workflow(WorkflowId("w"))


class _LosesFirstAnswer:
    """A real transport whose first write's answer is lost after the service committed it (a dropped connection)."""

    def __init__(self, inner: Transport) -> None:
        self._inner = inner
        self.where = inner.where
        self.keys: list[str | None] = []

    async def request(
        self, method: str, path: str, *, query: Mapping[str, str] | None, body: bytes | None, key: str | None
    ) -> Answer:
        answer = await self._inner.request(method, path, query=query, body=body, key=key)
        if method != "GET":
            self.keys.append(key)
            if len(self.keys) == 1:
                raise NetworkError("connection reset by peer")
        return answer

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_write_retried_after_a_network_error_reuses_its_key_and_is_done_once(
    service: EmbeddedService, connect: Callable[[str], Transport]
) -> None:
    transport = _LosesFirstAnswer(connect(service.token))
    async with DataClient(transport) as client:
        request = CreateWorkflowRequest(name="welcome", spec=SPEC)
        with pytest.raises(NetworkError):
            await client.create_workflow(request)
        retried = await client.create_workflow(request)
        assert transport.keys[0] == transport.keys[1]
        assert [w.id for w in (await client.list_workflows()).items] == [retried.id]


async def test_a_new_write_gets_a_new_key(service: EmbeddedService, connect: Callable[[str], Transport]) -> None:
    transport = _LosesFirstAnswer(connect(service.token))
    async with DataClient(transport) as client:
        with pytest.raises(NetworkError):
            await client.create_workflow(CreateWorkflowRequest(name="one", spec=SPEC))
        await client.create_workflow(CreateWorkflowRequest(name="two", spec=SPEC))
        assert transport.keys[0] != transport.keys[1]


class _Counting:
    """A real transport, counting the requests it carries to the service."""

    def __init__(self, inner: Transport) -> None:
        self._inner = inner
        self.where = inner.where
        self.requests: list[str] = []

    async def request(
        self, method: str, path: str, *, query: Mapping[str, str] | None, body: bytes | None, key: str | None
    ) -> Answer:
        self.requests.append(f"{method} {path}")
        return await self._inner.request(method, path, query=query, body=body, key=key)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_each_use_case_is_one_request_to_the_service(
    service: EmbeddedService, connect: Callable[[str], Transport]
) -> None:
    transport = _Counting(connect(service.token))
    async with DataClient(transport) as client:
        created = await client.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
        await client.update_workflow(UpdateWorkflowRequest(id=created.id, spec=SPEC, expected_version=1))
        await client.get_workflow(created.id)
    assert transport.requests == [
        "POST /v1/workflows",
        f"PUT /v1/workflows/{created.id}",
        f"GET /v1/workflows/{created.id}",
    ]


async def test_every_version_of_a_workflow_reads_back_as_written(admin: DataClient) -> None:
    first = await admin.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
    await admin.update_workflow(UpdateWorkflowRequest(id=first.id, spec=SPEC, expected_version=1, name="hello"))
    versions = await admin.list_workflow_versions(first.id)
    me = await admin.me()
    assert [(v.version, v.name, v.author) for v in versions.items] == [(1, "welcome", me.id), (2, "hello", me.id)]
    assert await admin.get_workflow_version(first.id, 1) == versions.items[0]
    assert await admin.get_workflow_version(first.id, 3) is None
    with pytest.raises(NotFoundError):
        await admin.list_workflow_versions(WorkflowId("nope"))
