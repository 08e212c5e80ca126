"""Port ``permission_records`` over the data service: the embedded service called directly, and a remote one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from symphony.builtin_plugins.data.client import Answer
from symphony.builtin_plugins.data.direct import DirectTransport
from symphony.builtin_plugins.data.embedded import EmbeddedService, open_embedded
from symphony.builtin_plugins.data.permission_records import HttpCarrier, ServicePermissionRecords
from symphony.builtin_plugins.data.service.bootstrap import create_identity
from symphony.builtin_plugins.data.service.db import normalize_url
from symphony.hookspecs import AuthorizationError, ModelBudget, NetworkError, ValidationError
from symphony.hookspecs.ports import DecisionRecord, GrantRecord, PermissionRecordsPort, TrustMark
from symphony.host import Host, Settings

from .conftest import Serve

if TYPE_CHECKING:
    from tests.conftest import Symphony


def _grant(permission: str, extension: str = "ext.a", **fields: Any) -> GrantRecord:
    return GrantRecord(
        extension=extension, permission=permission, granted_at=1.0, granted_by="ada", source="api", **fields
    )


def _decision(at: float, decision: str = "denied", **fields: Any) -> DecisionRecord:
    values: dict[str, Any] = {
        "at": at,
        "extension": "ext.a",
        "kind": "file",
        "permission": "file:read:/x",
        "target": "/x",
        "decision": decision,
        "rule": "r",
        "reason": "why",
        **fields,
    }
    return DecisionRecord(**values)


@pytest.fixture
def service(tmp_path: Path, database_url: str) -> Iterator[EmbeddedService]:
    service = open_embedded(tmp_path / "data", database_url)
    yield service
    service.close()


@pytest.fixture
def records(service: EmbeddedService) -> ServicePermissionRecords:
    return _records_of(service)


def _as(service: EmbeddedService, name: str, role: str) -> ServicePermissionRecords:
    _id, token = create_identity(service.url, name=name, email=f"{name}@x.org", role=role, token_name="t")
    return ServicePermissionRecords.direct(DirectTransport(service.service, token))


def test_the_embedded_records_offer_the_whole_port(records: ServicePermissionRecords) -> None:
    assert isinstance(records, PermissionRecordsPort)


def test_grants_round_trip_with_budget_and_identity(records: ServicePermissionRecords) -> None:
    model = _grant("model:gpt", budget=ModelBudget(calls=3, cost=0.5), identity="dist-1")
    records.grant([_grant("file:read:/x"), model, _grant("net:connect:h:443", extension="ext.b")])
    assert records.grants("ext.a") == [_grant("file:read:/x"), model]
    assert [g.extension for g in records.grants()] == ["ext.a", "ext.a", "ext.b"]


def test_revoke_returns_what_was_granted_and_none_revokes_everything(records: ServicePermissionRecords) -> None:
    records.grant([_grant("file:read:/x"), _grant("file:read:/y"), _grant("file:read:/z")])
    assert records.revoke("ext.a", ["file:read:/x", "file:read:/never"]) == ["file:read:/x"]
    assert records.revoke("ext.a") == ["file:read:/y", "file:read:/z"]
    assert records.grants() == []


def test_trust_marks_are_replaced_and_removed(records: ServicePermissionRecords) -> None:
    records.trust(TrustMark(extension="ext.a", trusted_at=1.0, trusted_by="ada"))
    records.trust(TrustMark(extension="ext.a", trusted_at=2.0, trusted_by="ada", identity="dist-2"))
    assert records.trust_marks() == [TrustMark(extension="ext.a", trusted_at=2.0, trusted_by="ada", identity="dist-2")]
    assert records.untrust("ext.a") is True
    assert records.untrust("ext.a") is False
    assert records.trust_marks() == []


def test_the_version_moves_with_every_change_seen_by_another_client(
    service: EmbeddedService, records: ServicePermissionRecords
) -> None:
    other = _records_of(service)
    before = other.version()
    records.grant([_grant("file:read:/x")])
    after_grant = other.version()
    records.trust(TrustMark(extension="ext.a", trusted_at=1.0, trusted_by="ada"))
    assert before < after_grant < other.version()


def test_a_recorded_denial_is_in_the_database_when_the_call_returns(
    service: EmbeddedService, records: ServicePermissionRecords
) -> None:
    records.record_decisions([_decision(5.0)])
    engine = create_engine(normalize_url(service.url))
    try:
        with engine.connect() as connection:
            stored = connection.execute(text("select decision, target from permission_audit")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in stored] == [("denied", "/x")]


def test_decisions_are_read_newest_first_filtered_and_paged_past_one_page(records: ServicePermissionRecords) -> None:
    records.record_decisions([_decision(float(n), "allowed" if n % 2 else "denied", run_id="r") for n in range(1203)])
    newest = records.decisions(limit=3)
    assert [d.at for d in newest] == [1202.0, 1201.0, 1200.0]
    assert all(d.id is not None for d in newest)
    everything = records.decisions(limit=None)
    assert len(everything) == 1203
    assert [d.at for d in everything] == sorted((d.at for d in everything), reverse=True)
    assert len(records.decisions(decision="allowed", run_id="r", limit=None)) == 601
    assert records.decisions(extension="ext.other") == []


def test_threads_recording_at_once_lose_no_decision(records: ServicePermissionRecords) -> None:
    errors: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for n in range(20):
                records.record_decisions([_decision(thread * 100 + n)])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(records.decisions(limit=None)) == 80


async def test_the_records_are_called_from_inside_a_running_event_loop(records: ServicePermissionRecords) -> None:
    records.grant([_grant("file:read:/x")])
    assert [g.permission for g in records.grants()] == ["file:read:/x"]


def test_each_identity_has_its_own_records(service: EmbeddedService, records: ServicePermissionRecords) -> None:
    ed = _as(service, "ed", "editor")
    ed.grant([_grant("file:read:/ed")])
    ed.record_decisions([_decision(1.0)])
    assert records.grants() == []
    assert records.decisions() == []
    assert records.revoke("ext.a") == []
    assert [g.permission for g in ed.grants()] == ["file:read:/ed"]


def test_a_viewer_may_not_grant(service: EmbeddedService) -> None:
    viewer = _as(service, "vi", "viewer")
    with pytest.raises(AuthorizationError, match="viewer may not grant"):
        viewer.grant([_grant("file:read:/x")])
    assert viewer.grants() == []


def test_an_invalid_record_is_a_validation_error(records: ServicePermissionRecords) -> None:
    with pytest.raises(ValidationError, match="extension"):
        records.grant([_grant("file:read:/x", extension="")])


def test_an_unknown_token_is_an_authorization_error(service: EmbeddedService) -> None:
    records = ServicePermissionRecords.direct(DirectTransport(service.service, "sym_unknown"))
    with pytest.raises(AuthorizationError):
        records.version()


def _host(data_dir: Path, **options: Any) -> Host:
    settings = Settings(data_dir=data_dir, cache_dir=data_dir / "cache", components={"data": {"options": options}})
    return Host(settings).load()


async def test_the_host_gets_the_embedded_records_from_the_data_plugin(tmp_path: Path) -> None:
    host = _host(tmp_path / "home")
    await host.start()
    try:
        port: PermissionRecordsPort = host.port("permission_records")
        assert isinstance(port, ServicePermissionRecords)
        port.grant([_grant("file:read:/x")])
    finally:
        await host.stop()
    reopened = open_embedded(tmp_path / "home" / "data")
    try:
        again = _records_of(reopened)
        assert [g.permission for g in again.grants()] == ["file:read:/x"]
    finally:
        reopened.close()


async def test_the_port_data_access_reuses_the_embedded_service_the_records_opened(tmp_path: Path) -> None:
    from symphony.builtin_plugins.data import plugin

    host = _host(tmp_path / "home")
    await host.start()
    try:
        host.port("permission_records")
        host.port("data_access")
        _client, service = plugin._opened[host.context]
        assert service is plugin._records[host.context][1]
    finally:
        await host.stop()


@pytest.mark.slow
def test_remote_records_reach_a_served_service_over_http(serve: Serve, home: Symphony, database_url: str) -> None:
    open_embedded(home.data_dir / "data", database_url).close()  # the served database, with its admin's token file
    token = (home.data_dir / "data" / "token").read_text().strip()
    server = serve(home, "--database", database_url)
    records = ServicePermissionRecords.remote(server.url, token, timeout=10)
    try:
        records.grant([_grant("file:read:/x", budget=ModelBudget(tokens=5))])
        records.record_decisions([_decision(1.0)])
        assert [g.budget for g in records.grants()] == [ModelBudget(tokens=5)]
        assert [d.decision for d in records.decisions()] == ["denied"]
        assert records.version() == 1
        records.close()  # the host may stop the data component before the runtime's last audit flush
        records.record_decisions([_decision(2.0)])
        assert len(records.decisions()) == 2
        with pytest.raises(AuthorizationError):
            ServicePermissionRecords.remote(server.url, "sym_wrong", timeout=10).version()
        server.stop()
        with pytest.raises(NetworkError, match="could not be reached"):
            records.version()
    finally:
        records.close()


@pytest.mark.slow
async def test_a_host_configured_with_a_url_gets_remote_records(serve: Serve, home: Symphony, tmp_path: Path) -> None:
    token_file = home.data_dir / "data" / "token"
    open_embedded(home.data_dir / "data").close()
    server = serve(home)
    host = _host(tmp_path / "client", url=server.url, token_file=str(token_file), timeout=10)
    await host.start()
    try:
        port: PermissionRecordsPort = host.port("permission_records")
        port.grant([_grant("file:read:/x")])
        assert [g.permission for g in port.grants()] == ["file:read:/x"]
    finally:
        await host.stop()
    assert not (tmp_path / "client" / "data").exists()  # no embedded service was made on the client's side
    served = open_embedded(home.data_dir / "data")
    try:
        assert [g.permission for g in _records_of(served).grants()] == ["file:read:/x"]
    finally:
        served.close()


def _records_of(service: EmbeddedService) -> ServicePermissionRecords:
    return ServicePermissionRecords.direct(DirectTransport(service.service, service.token))


class _LostAnswers(HttpCarrier):
    """Carries the first write to the real service, then loses its answer, as a dropped connection would."""

    lost = False

    def request_sync(self, method: str, path: str, **kwargs: Any) -> Answer:
        answer = super().request_sync(method, path, **kwargs)
        if method != "GET" and not self.lost:
            self.lost = True
            raise NetworkError("the answer was lost")
        return answer


@pytest.mark.slow
def test_decisions_sent_again_after_a_lost_answer_are_recorded_once(serve: Serve, home: Symphony) -> None:
    open_embedded(home.data_dir / "data").close()
    token = (home.data_dir / "data" / "token").read_text().strip()
    server = serve(home)

    def make() -> httpx.Client:
        return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    carrier = _LostAnswers(make, server.url)
    records = ServicePermissionRecords(carrier, keyed=True)
    try:
        with pytest.raises(NetworkError):
            records.record_decisions([_decision(1.0)])
        records.record_decisions([_decision(1.0)])
        assert len(records.decisions()) == 1
    finally:
        carrier.close()
