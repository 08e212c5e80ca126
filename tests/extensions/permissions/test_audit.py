"""The audit log: every decision, denials durable at once, never a secret."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from symphony.hookspecs import FileAccess, NetworkAccess
from symphony.host.permissions import AuditLog, FileRequest, NetworkRequest, Subject

from .conftest import Make, Tree

SECRET = "sk-live-7f3a9c1e5b"


def subject(tree: Tree) -> Subject:
    return Subject(
        name="auditee",
        declared=(FileAccess(scope="read", paths=(f"{tree.allowed}/**",)), NetworkAccess(hosts=("api.example.com",))),
    )


def test_allowed_and_denied_decisions_are_both_recorded(make: Make, paths: Tree) -> None:
    permissions = make(subject(paths))
    permissions.grants.grant("auditee", [f"file:read:{paths.allowed}/**"])
    checker = permissions.checker()
    checker.check("auditee", FileRequest(path=str(paths.inside)), run_id="run-1")
    checker.check("auditee", FileRequest(path=str(paths.secret)), run_id="run-1")
    entries = permissions.audit.entries(extension="auditee")
    assert [(e.decision, e.target, e.run_id) for e in entries] == [
        ("denied", str(paths.secret), "run-1"),
        ("allowed", str(paths.inside), "run-1"),
    ]
    assert entries[0].permission == f"file:read:{paths.secret}:read" and "does not declare" in entries[0].reason


def test_a_denial_is_on_disk_before_the_checker_returns(make: Make, paths: Tree, tmp_path: Path) -> None:
    permissions = make(subject(paths))
    permissions.checker().check("auditee", FileRequest(path=str(paths.secret)))
    with sqlite3.connect(tmp_path / "permissions.db") as connection:
        rows = connection.execute("SELECT decision, target FROM audit").fetchall()
    assert rows == [("denied", str(paths.secret))]


def test_a_crash_loses_no_denial(paths: Tree, tmp_path: Path) -> None:
    database = tmp_path / "crash.db"
    code = (
        "import os, sys; from pathlib import Path\n"
        "from symphony.hookspecs import SystemAccess\n"
        "from symphony.host.permissions import *\n"
        "p = Permissions(records=Path(sys.argv[1]), policy=EffectivePolicy(),\n"
        "    resolver=LocationResolver(data_dir=Path(sys.argv[1]).parent, cache_dir=Path(sys.argv[1]).parent),\n"
        "    lookup=lambda n: Subject(name=n), flush_interval=60)\n"
        "p.checker().check('doomed', SystemRequest(capability='processes'))\n"
        "os._exit(9)  # no atexit, no flush\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(database)], timeout=60, check=False)
    assert result.returncode == 9
    [entry] = AuditLog(database).entries()
    assert (entry.extension, entry.decision, entry.permission) == ("doomed", "denied", "system:processes")


def test_allowed_decisions_are_written_in_batches_and_on_close(make: Make, paths: Tree, tmp_path: Path) -> None:
    permissions = make(subject(paths))
    permissions.grants.grant("auditee", [f"file:read:{paths.allowed}/**"])
    checker = permissions.checker()
    for _ in range(3):
        checker.check("auditee", FileRequest(path=str(paths.inside)))
    permissions.close()
    with sqlite3.connect(tmp_path / "permissions.db") as connection:
        assert connection.execute("SELECT count(*) FROM audit WHERE decision = 'allowed'").fetchone() == (3,)


def test_entries_filter_by_decision_extension_run_and_limit(make: Make, paths: Tree) -> None:
    permissions = make(subject(paths), Subject(name="bystander"))
    checker = permissions.checker()
    for run in ("a", "b", "c"):
        checker.check("auditee", FileRequest(path=str(paths.secret)), run_id=run)
    checker.check("bystander", FileRequest(path=str(paths.secret)))
    assert len(permissions.audit.entries(extension="auditee", decision="denied")) == 3
    assert [e.run_id for e in permissions.audit.entries(extension="auditee", limit=2)] == ["c", "b"]
    assert [e.extension for e in permissions.audit.entries(run_id="b")] == ["auditee"]
    assert permissions.audit.entries(decision="allowed") == []


def test_the_database_uses_write_ahead_logging(make: Make, paths: Tree, tmp_path: Path) -> None:
    make(subject(paths)).checker().check("auditee", FileRequest(path=str(paths.secret)))
    with sqlite3.connect(tmp_path / "permissions.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_secret_in_a_requests_url_never_reaches_the_audit_log(make: Make, paths: Tree, tmp_path: Path) -> None:
    permissions = make(subject(paths))
    permissions.grants.grant("auditee", ["network:api.example.com"])
    checker = permissions.checker()
    url = f"https://token:{SECRET}@api.example.com/v1/complete?api_key={SECRET}"
    allowed = checker.check("auditee", NetworkRequest.from_url(url), run_id="r")
    denied = checker.check("auditee", NetworkRequest.from_url(url.replace("api.", "evil.")), run_id="r")
    assert allowed.allowed and not denied.allowed
    assert SECRET not in repr(allowed) + repr(denied)
    permissions.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("permissions.db*"))
    assert b"api.example.com" in stored and SECRET.encode() not in stored
