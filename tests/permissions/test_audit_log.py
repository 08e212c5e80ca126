"""AuditLog over port permission_records: denials are kept before the checker returns, allowed ones in batches."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from symphony.hookspecs import NetworkError
from symphony.hookspecs.ports import DecisionRecord, PermissionRecordsPort
from symphony.host.permissions import (
    AuditLog,
    EffectivePolicy,
    HostPermissionRecords,
    LocationResolver,
    NetworkRequest,
    Permissions,
    Subject,
)

DEADLINE = 30.0


def _permissions(records: PermissionRecordsPort, tmp_path: Path) -> Permissions:
    subject = Subject(name="fetcher", declared=())
    return Permissions(
        records=records,
        policy=EffectivePolicy(trusted_extensions=frozenset({"fetcher"})),
        resolver=LocationResolver(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache"),
        lookup=lambda name: subject,
        flush_interval=0.05,
    )


def test_a_denial_is_in_the_records_when_the_checker_returns_it(records: PermissionRecordsPort, tmp_path: Path) -> None:
    permissions = _permissions(records, tmp_path)
    try:
        decision = permissions.checker().check("fetcher", NetworkRequest(host="evil.example.com"), run_id="r1")
        assert not decision.allowed
        [kept] = records.decisions()
        assert (kept.decision, kept.target, kept.run_id) == ("denied", "evil.example.com", "r1")
    finally:
        permissions.close()


def test_allowed_decisions_reach_the_records_without_a_flush(records: PermissionRecordsPort, tmp_path: Path) -> None:
    from symphony.hookspecs import NetworkAccess

    subject = Subject(name="fetcher", declared=(NetworkAccess(hosts=("api.example.com",)),))
    permissions = Permissions(
        records=records,
        policy=EffectivePolicy(trusted_extensions=frozenset({"fetcher"})),
        resolver=LocationResolver(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache"),
        lookup=lambda name: subject,
        flush_interval=0.05,
    )
    try:
        assert permissions.checker().check("fetcher", NetworkRequest(host="api.example.com")).allowed
        deadline = time.monotonic() + DEADLINE
        while not records.decisions(decision="allowed") and time.monotonic() < deadline:
            time.sleep(0.02)
        [kept] = records.decisions(decision="allowed")
        assert kept.rule == "trusted"
    finally:
        permissions.close()


def test_entries_are_newest_first_and_filtered(records: PermissionRecordsPort, tmp_path: Path) -> None:
    permissions = _permissions(records, tmp_path)
    checker = permissions.checker()
    for host in ("a.example.com", "b.example.com", "c.example.com"):
        checker.check("fetcher", NetworkRequest(host=host), run_id="r1" if host != "b.example.com" else "r2")
    entries = permissions.audit.entries(run_id="r1")
    permissions.close()
    assert [e.target for e in entries] == ["c.example.com", "a.example.com"]
    assert entries[0].id > entries[1].id


class _Unreachable:
    """The host's own records behind a switch that makes every write fail as a remote service would."""

    def __init__(self, inner: HostPermissionRecords) -> None:
        self.inner = inner
        self.down = True

    def record_decisions(self, decisions: list[DecisionRecord]) -> None:
        if self.down:
            raise NetworkError("The data service could not be reached.")
        self.inner.record_decisions(decisions)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_decisions_the_records_refused_are_written_by_the_next_flush(tmp_path: Path) -> None:
    inner = HostPermissionRecords(tmp_path / "permissions.db")
    records = _Unreachable(inner)
    log = AuditLog(records, flush_interval=60)  # type: ignore[arg-type]  # the port's other methods via __getattr__
    permissions = _permissions(inner, tmp_path)
    decision = permissions.checker().evaluate("fetcher", NetworkRequest(host="evil.example.com"))
    permissions.close()
    with pytest.raises(NetworkError):
        log.record(decision)
    records.down = False
    assert log.flush() == 1
    assert [d.target for d in inner.decisions()] == ["evil.example.com"]
    log.close()


def test_a_secret_in_a_requested_url_is_in_no_stored_file(records: PermissionRecordsPort, tmp_path: Path) -> None:
    permissions = _permissions(records, tmp_path)
    request = NetworkRequest.from_url("https://user:SECRET-TOKEN@api.example.com/path?key=SECRET-TOKEN")
    permissions.checker().check("fetcher", request)
    permissions.close()
    assert records.decisions()[0].target == "api.example.com:443"
    stored = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    assert b"api.example.com" in stored and b"SECRET-TOKEN" not in stored
