"""Importing an old permissions.db (the host's own SQLite store before issue 15) into the data service, on SQLite and
PostgreSQL: in one transaction as the importer's records, automatically at first open, and by command.

The fixtures are built with plain sqlite3 from the DDL host/permissions/_db.py creates (SQLAlchemy's create_all on
SQLite), since that code may move.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from symphony.builtin_plugins.data.direct import DirectTransport
from symphony.builtin_plugins.data.embedded import EmbeddedService, open_embedded
from symphony.builtin_plugins.data.import_permissions import import_legacy_permissions, import_permissions_file
from symphony.builtin_plugins.data.permission_records import ServicePermissionRecords
from symphony.builtin_plugins.data.service.bootstrap import create_identity
from symphony.hookspecs import AuthorizationError, ModelBudget, NotFoundError, ValidationError
from symphony.hookspecs.ports import GrantRecord, TrustMark
from tests.conftest import parse_json

from .test_cli import _fails

if TYPE_CHECKING:
    from tests.conftest import Symphony

#: The tables _db.py creates, with the identity columns it adds to older files.
SCHEMA = """
CREATE TABLE grants (
    id INTEGER NOT NULL, extension VARCHAR NOT NULL, permission VARCHAR NOT NULL, granted_at FLOAT NOT NULL,
    granted_by VARCHAR NOT NULL, source VARCHAR NOT NULL, budget_calls INTEGER, budget_tokens INTEGER,
    budget_cost FLOAT, identity VARCHAR, PRIMARY KEY (id), UNIQUE (extension, permission)
);
CREATE INDEX ix_grants_extension ON grants (extension);
CREATE TABLE trusted (
    extension VARCHAR NOT NULL, trusted_at FLOAT NOT NULL, trusted_by VARCHAR NOT NULL, identity VARCHAR,
    PRIMARY KEY (extension)
);
CREATE TABLE state (key VARCHAR NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (key));
CREATE TABLE audit (
    id INTEGER NOT NULL, at FLOAT NOT NULL, extension VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    permission VARCHAR NOT NULL, target VARCHAR NOT NULL, decision VARCHAR NOT NULL, rule VARCHAR NOT NULL,
    reason VARCHAR NOT NULL, run_id VARCHAR, mode VARCHAR NOT NULL, PRIMARY KEY (id)
);
CREATE INDEX ix_audit_extension ON audit (extension);
CREATE INDEX ix_audit_decision ON audit (decision);
"""
ROWS = """
INSERT INTO grants VALUES (1, 'ext.a', 'file:read:/x', 1.0, 'ada', 'symphony ext grant', null, null, null, 'dist-a');
INSERT INTO grants VALUES (2, 'ext.a', 'model:gpt', 2.0, 'ada', 'api', 3, null, 0.5, 'dist-a');
INSERT INTO trusted VALUES ('ext.b', 3.0, 'ada', 'dist-b');
INSERT INTO state VALUES ('grants_version', 3);
INSERT INTO audit VALUES (1, 10.0, 'ext.a', 'file', 'file:read:/x', '/x', 'allowed', 'g', 'granted', 'r1', 'enforce');
INSERT INTO audit VALUES (2, 11.0, 'ext.a', 'file', 'file:read:/y', '/y', 'denied', 'none', 'no grant', null, 'learn');
"""


def make_store(path: Path, schema: str = SCHEMA, rows: str = ROWS) -> Path:
    with sqlite3.connect(path) as connection:
        connection.executescript(schema + rows)
    connection.close()
    return path


@pytest.fixture
def service(tmp_path: Path, database_url: str) -> Iterator[EmbeddedService]:
    service = open_embedded(tmp_path / "data", database_url)
    yield service
    service.close()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return make_store(tmp_path / "old-permissions.db")


def _records(service: EmbeddedService, token: str | None = None) -> ServicePermissionRecords:
    return ServicePermissionRecords.direct(DirectTransport(service.service, token or service.token))


def test_an_import_brings_grants_trust_marks_and_decisions_as_the_importers(
    service: EmbeddedService, store: Path
) -> None:
    imported = import_permissions_file(service.url, store, token=service.token)
    assert (imported.grants, imported.trust_marks, imported.decisions, imported.skipped) == (2, 1, 2, 0)
    records = _records(service)
    assert records.grants() == [
        GrantRecord(
            extension="ext.a",
            permission="file:read:/x",
            granted_at=1.0,
            granted_by="ada",
            source="symphony ext grant",
            identity="dist-a",
        ),
        GrantRecord(
            extension="ext.a",
            permission="model:gpt",
            granted_at=2.0,
            granted_by="ada",
            source="api",
            budget=ModelBudget(calls=3, cost=0.5),
            identity="dist-a",
        ),
    ]
    assert records.trust_marks() == [TrustMark(extension="ext.b", trusted_at=3.0, trusted_by="ada", identity="dist-b")]
    newest_first = records.decisions()
    assert [(d.target, d.decision, d.run_id, d.mode) for d in newest_first] == [
        ("/y", "denied", None, "learn"),
        ("/x", "allowed", "r1", "enforce"),
    ]
    assert records.version() == 1


def test_a_second_import_of_the_same_file_changes_nothing(service: EmbeddedService, store: Path) -> None:
    import_permissions_file(service.url, store, token=service.token)
    version = _records(service).version()
    again = import_permissions_file(service.url, store, token=service.token)
    assert (again.grants, again.trust_marks, again.decisions, again.skipped) == (0, 0, 0, 2)
    records = _records(service)
    assert len(records.grants()) == 2 and len(records.decisions()) == 2
    assert records.version() == version


def test_a_grant_present_in_the_service_is_kept_as_it_is(service: EmbeddedService, store: Path) -> None:
    newer = GrantRecord(extension="ext.a", permission="file:read:/x", granted_at=99.0, granted_by="bob", source="api")
    _records(service).grant([newer])
    imported = import_permissions_file(service.url, store, token=service.token)
    assert imported.grants == 1
    assert _records(service).grants("ext.a")[0] == newer


def test_a_store_from_before_the_identity_columns_imports_them_as_none(
    service: EmbeddedService, tmp_path: Path
) -> None:
    old_schema = SCHEMA.replace(" identity VARCHAR,", "").replace(", identity VARCHAR", "")
    rows = (
        "INSERT INTO grants VALUES (1, 'ext.a', 'file:read:/x', 1.0, 'ada', 'api', null, null, null);"
        "INSERT INTO trusted VALUES ('ext.b', 3.0, 'ada');"
    )
    path = make_store(tmp_path / "older.db", old_schema, rows)
    import_permissions_file(service.url, path, token=service.token)
    records = _records(service)
    assert [g.identity for g in records.grants()] == [None]
    assert [m.identity for m in records.trust_marks()] == [None]


def test_an_import_that_fails_midway_imports_nothing(service: EmbeddedService, tmp_path: Path) -> None:
    bad = ROWS + "INSERT INTO audit VALUES (3, 12.0, 'ext.a', 'file', 'p', '/z', 'maybe', 'r', 'why', null, 'enforce');"
    path = make_store(tmp_path / "bad.db", rows=bad)
    with pytest.raises(ValidationError, match="damaged"):
        import_permissions_file(service.url, path, token=service.token)
    records = _records(service)
    assert records.grants() == [] and records.decisions() == [] and records.version() == 0


def test_a_missing_file_is_a_not_found_error(service: EmbeddedService, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="No file"):
        import_permissions_file(service.url, tmp_path / "nothing.db", token=service.token)


def test_a_sqlite_file_without_the_permission_tables_is_refused(service: EmbeddedService, tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("create table runs (id text)")
    connection.close()
    with pytest.raises(ValidationError, match="not a permissions database"):
        import_permissions_file(service.url, path, token=service.token)


def test_a_viewer_may_not_import(service: EmbeddedService, store: Path) -> None:
    _id, token = create_identity(service.url, name="vi", email="vi@x.org", role="viewer", token_name="t")
    with pytest.raises(AuthorizationError, match="viewer may not"):
        import_permissions_file(service.url, store, token=token)
    assert _records(service, token).grants() == []


def test_a_legacy_store_that_fails_to_import_stays_in_place_with_a_warning(
    service: EmbeddedService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "permissions.db").write_text("garbage")
    with caplog.at_level(logging.WARNING):
        assert import_legacy_permissions(service.url, legacy, token=service.token) is None
    assert (legacy / "permissions.db").read_text() == "garbage"
    assert "symphony data import-permissions" in caplog.text


def test_the_embedded_service_imports_the_data_directorys_permissions_db_when_it_opens(
    tmp_path: Path, database_url: str
) -> None:
    make_store(tmp_path / "permissions.db")
    service = open_embedded(tmp_path / "data", database_url)
    try:
        assert [g.permission for g in _records(service).grants()] == ["file:read:/x", "model:gpt"]
        assert not (tmp_path / "permissions.db").exists() and (tmp_path / "permissions.db.imported").is_file()
    finally:
        service.close()
    reopened = open_embedded(tmp_path / "data", database_url)  # nothing left to import: opens as usual
    reopened.close()


# -- the command ----------------------------------------------------------------------------------


def test_import_permissions_command_imports_into_the_embedded_service(home: Symphony, tmp_path: Path) -> None:
    path = make_store(tmp_path / "old-permissions.db")
    document = parse_json(home.run("data", "import-permissions", str(path), "--json"))
    assert {k: document[k] for k in ("grants", "trust_marks", "decisions", "skipped")} == {
        "grants": 2,
        "trust_marks": 1,
        "decisions": 2,
        "skipped": 0,
    }
    again = home.run("data", "import-permissions", str(path))
    assert again.returncode == 0, again.stderr
    assert "imported 0 grants, 0 trust marks and 0 decisions (2 already present)" in again.stdout
    assert path.is_file()  # an explicit import leaves the file where it is


def test_import_permissions_command_refuses_a_foreign_file(home: Symphony, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n" * 200)
    _fails(home.run("data", "import-permissions", str(path)), "is not a SQLite database")


async def test_an_import_is_one_audit_row_and_a_no_op_import_none(service: EmbeddedService, store: Path) -> None:
    import_permissions_file(service.url, store, token=service.token)
    import_permissions_file(service.url, store, token=service.token)
    async with service.client() as client:
        rows = (await client.list_audit(resource="permissions")).items
    assert [(row.action, row.after) for row in rows] == [
        ("import", {"path": str(store), "grants": 2, "trust_marks": 1, "decisions": 2})
    ]
