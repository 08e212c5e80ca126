"""Importing an old runs.db (the DAG tracker's own SQLite store before issue 15) into the data service, on SQLite and
PostgreSQL: through the service's import function in one transaction, automatically at first open and by command.

The fixtures are built with plain sqlite3 from the DDL checkpoints.py created (commit b9c0764), since that module
is gone.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.embedded import EmbeddedService, open_embedded
from symphony.builtin_plugins.data.import_runs import import_legacy_runs, import_runs_file
from symphony.hookspecs import AuthorizationError, DataError, NotFoundError, ValidationError
from symphony.hookspecs.ports import CreateTokenRequest, CreateUserRequest, NewRun
from tests.conftest import parse_json

from .test_cli import _fails

if TYPE_CHECKING:
    from tests.conftest import Symphony

#: The schema checkpoints.py's CheckpointStore created (SQLAlchemy's create_all on SQLite), at commit b9c0764.
DDL_B9C0764 = """
CREATE TABLE runs (
    id VARCHAR(32) NOT NULL, workflow_id VARCHAR NOT NULL, workflow_name VARCHAR NOT NULL,
    document BLOB NOT NULL, inputs BLOB NOT NULL, state VARCHAR(16) NOT NULL, nodes_total INTEGER NOT NULL,
    created_at DOUBLE NOT NULL, updated_at DOUBLE NOT NULL, finished_at DOUBLE, pid INTEGER, hostname VARCHAR,
    process_started DOUBLE, cancel_requested BOOLEAN NOT NULL, error VARCHAR, outputs BLOB, metrics BLOB,
    failure_category VARCHAR, parent_id VARCHAR, waiting BLOB, prewarmed BLOB, PRIMARY KEY (id)
);
CREATE INDEX ix_runs_state ON runs (state);
CREATE INDEX ix_runs_created_at ON runs (created_at);
CREATE TABLE node_cache (
    "key" VARCHAR(64) NOT NULL, uses VARCHAR NOT NULL, outputs BLOB, outputs_ref VARCHAR, run_id VARCHAR NOT NULL,
    node_id VARCHAR NOT NULL, created_at DOUBLE NOT NULL, PRIMARY KEY ("key")
);
CREATE TABLE nodes (
    run_id VARCHAR(32) NOT NULL, node_id VARCHAR NOT NULL, state VARCHAR(16) NOT NULL, attempts INTEGER NOT NULL,
    outputs BLOB, outputs_ref VARCHAR, error VARCHAR, detail VARCHAR, cached BOOLEAN NOT NULL,
    queue_wait DOUBLE NOT NULL, run_time DOUBLE NOT NULL, finished_at DOUBLE NOT NULL,
    PRIMARY KEY (run_id, node_id), FOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE CASCADE
);
"""

RUN_COLUMNS = (
    "id, workflow_id, workflow_name, document, inputs, state, nodes_total, created_at, updated_at, finished_at,"
    " pid, hostname, process_started, cancel_requested, error, outputs, metrics, failure_category, parent_id"
)


def make_store(path: Path, ddl: str = DDL_B9C0764) -> Path:
    """A runs.db as the old store left it (WAL mode): a finished run with two checkpoints and a cache entry, and
    a failed retry of it."""
    db = sqlite3.connect(path)
    db.execute("pragma journal_mode=wal")
    db.executescript(ddl)
    db.execute(
        f"insert into runs ({RUN_COLUMNS}) values ('aaaa0001', 'hello', 'Hello', x'81a1', x'80', 'succeeded', 2,"
        " 100.0, 110.0, 110.0, 11, 'box', 99.5, 0, null, x'81a17801', x'80', null, null)"
    )
    db.execute(
        f"insert into runs ({RUN_COLUMNS}) values ('bbbb0002', 'hello', 'Hello', x'81a1', x'80', 'failed', 2,"
        " 200.0, 210.0, 210.0, 12, 'box', 199.5, 1, 'boom', null, null, 'data.validation', 'aaaa0001')"
    )
    db.execute(
        "insert into nodes values ('aaaa0001', 'a', 'succeeded', 1, x'01', null, null, null, 0, 0.5, 1.5, 105.0)"
    )
    db.execute(
        "insert into nodes values ('aaaa0001', 'b', 'succeeded', 1, null, 'artifact-1', null, 'd', 1, 0, 0, 106.0)"
    )
    db.execute("insert into node_cache values ('key-a', 'std/echo', x'01', null, 'aaaa0001', 'a', 105.0)")
    db.commit()
    db.close()
    return path


@pytest.fixture
def service(tmp_path: Path, database_url: str) -> Iterator[EmbeddedService]:
    service = open_embedded(tmp_path / "data", database_url)
    yield service
    service.close()


@pytest.fixture
async def admin(service: EmbeddedService) -> AsyncIterator[DataClient]:
    async with DataClient.in_process(service.app, service.token) as client:
        yield client


@pytest.fixture
def store(tmp_path: Path) -> Path:
    (tmp_path / "old").mkdir()
    return make_store(tmp_path / "old" / "runs.db")


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """A data directory of its own, for the legacy store's import (the service's is ``tmp_path``)."""
    directory = tmp_path / "legacy"
    directory.mkdir()
    return directory


async def test_an_import_brings_runs_checkpoints_and_cache_entries_owned_by_the_importer(
    service: EmbeddedService, admin: DataClient, store: Path
) -> None:
    imported = import_runs_file(service.url, store, token=service.token)
    assert (imported.runs, imported.skipped, imported.nodes, imported.cache_entries) == (2, 0, 2, 1)
    first, retry = await admin.get_run("aaaa0001"), await admin.get_run("bbbb0002")
    assert first is not None and retry is not None
    me = (await admin.me()).id
    assert (first.state, first.owner, first.outputs, first.created_at, first.finished_at) == (
        "succeeded",
        me,
        b"\x81\xa1x\x01",
        100.0,
        110.0,
    )
    assert first.process is not None and (first.process.pid, first.process.started) == (11, 99.5)
    assert (retry.cancel_requested, retry.error, retry.failure_category, retry.parent_id) == (
        True,
        "boom",
        "data.validation",
        "aaaa0001",
    )
    nodes = await admin.run_nodes("aaaa0001")
    assert [(n.node_id, n.outputs, n.outputs_ref, n.cached, n.finished_at) for n in nodes] == [
        ("a", b"\x01", None, False, 105.0),
        ("b", None, "artifact-1", True, 106.0),
    ]
    entry = await admin.cached_node("key-a")
    assert entry is not None and (entry.run_id, entry.outputs, entry.created_at) == ("aaaa0001", b"\x01", 105.0)


async def test_each_imported_run_is_audited(service: EmbeddedService, admin: DataClient, store: Path) -> None:
    import_runs_file(service.url, store, token=service.token)
    records = (await admin.list_audit(resource="run")).items
    assert sorted((r.action, r.resource_id) for r in records) == [("import", "aaaa0001"), ("import", "bbbb0002")]


async def test_a_second_import_of_the_same_file_changes_nothing(
    service: EmbeddedService, admin: DataClient, store: Path
) -> None:
    import_runs_file(service.url, store, token=service.token)
    before = await admin.list_runs()
    again = import_runs_file(service.url, store, token=service.token)
    assert (again.runs, again.skipped, again.nodes, again.cache_entries) == (0, 2, 0, 0)
    assert await admin.list_runs() == before


async def test_a_run_present_in_the_service_is_kept_as_it_is_with_its_checkpoints(
    service: EmbeddedService, admin: DataClient, store: Path
) -> None:
    present = NewRun(id="aaaa0001", workflow_id="other", workflow_name="Other", document=b"", inputs=b"", nodes_total=0)
    await admin.create_run(present)
    imported = import_runs_file(service.url, store, token=service.token)
    assert (imported.runs, imported.skipped, imported.nodes) == (1, 1, 0)
    kept = await admin.get_run("aaaa0001")
    assert kept is not None and kept.workflow_id == "other"
    assert await admin.run_nodes("aaaa0001") == []


async def test_a_store_from_before_the_later_columns_imports_with_their_defaults(
    service: EmbeddedService, admin: DataClient, tmp_path: Path
) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE runs (id VARCHAR(32) PRIMARY KEY, workflow_id VARCHAR NOT NULL, workflow_name VARCHAR NOT NULL,"
        " document BLOB NOT NULL, inputs BLOB NOT NULL, state VARCHAR(16) NOT NULL, nodes_total INTEGER NOT NULL,"
        " created_at DOUBLE NOT NULL, updated_at DOUBLE NOT NULL, finished_at DOUBLE, cancel_requested BOOLEAN);"
        "CREATE TABLE nodes (run_id VARCHAR(32), node_id VARCHAR, state VARCHAR(16), attempts INTEGER, outputs BLOB,"
        " cached BOOLEAN, queue_wait DOUBLE, run_time DOUBLE, finished_at DOUBLE, PRIMARY KEY (run_id, node_id));"
        "INSERT INTO runs VALUES ('cccc0003', 'w', 'W', x'', x'', 'running', 1, 1.0, 1.0, null, null);"
        "INSERT INTO nodes VALUES ('cccc0003', 'a', 'failed', 2, null, 0, 0, 0, 2.0);"
    )
    db.close()
    imported = import_runs_file(service.url, path, token=service.token)
    assert (imported.runs, imported.nodes, imported.cache_entries) == (1, 1, 0)
    run = await admin.get_run("cccc0003")
    assert run is not None and (run.cancel_requested, run.parent_id, run.waiting, run.process) == (
        False,
        None,
        None,
        None,
    )


async def test_an_import_that_fails_midway_imports_nothing(
    service: EmbeddedService, admin: DataClient, tmp_path: Path
) -> None:
    # A hand-edited file: its second run has no document, which the service's schema refuses.
    path = make_store(tmp_path / "runs.db", DDL_B9C0764.replace("document BLOB NOT NULL", "document BLOB"))
    db = sqlite3.connect(path)
    db.execute("update runs set document = null where id = 'bbbb0002'")
    db.commit()
    db.close()
    with pytest.raises(DataError, match="nothing was imported"):
        import_runs_file(service.url, path, token=service.token)
    assert (await admin.list_runs()).items == []
    assert await admin.cached_node("key-a") is None


def test_a_missing_file_is_a_not_found_error(service: EmbeddedService, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="No file"):
        import_runs_file(service.url, tmp_path / "nothing.db", token=service.token)


def test_a_file_that_is_not_sqlite_is_refused(service: EmbeddedService, tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.write_text("not a database\n" * 100)
    with pytest.raises(ValidationError, match="is not a SQLite database"):
        import_runs_file(service.url, path, token=service.token)


def test_a_sqlite_file_without_the_run_tables_is_refused(service: EmbeddedService, tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).executescript("CREATE TABLE runs (id TEXT); CREATE TABLE nodes (x TEXT);")
    with pytest.raises(ValidationError, match="is not a run database of the DAG tracker: table 'runs' lacks"):
        import_runs_file(service.url, path, token=service.token)


async def test_a_viewer_may_not_import(service: EmbeddedService, admin: DataClient, store: Path) -> None:
    viewer = await admin.create_user(CreateUserRequest(name="vi", email="vi@example.org", role="viewer"))
    token = await admin.create_token(CreateTokenRequest(name="t", user_id=viewer.id))
    with pytest.raises(AuthorizationError, match="may not import"):
        import_runs_file(service.url, store, token=token.token)
    assert (await admin.list_runs()).items == []


async def test_the_legacy_store_is_imported_once_and_set_aside(
    service: EmbeddedService, admin: DataClient, legacy: Path
) -> None:
    make_store(legacy / "runs.db")
    imported = import_legacy_runs(service.url, legacy, token=service.token)
    assert imported is not None and imported.runs == 2
    assert not (legacy / "runs.db").exists()
    assert (legacy / "runs.db.imported").is_file()
    assert import_legacy_runs(service.url, legacy, token=service.token) is None
    assert len((await admin.list_runs()).items) == 2


def test_setting_aside_never_overwrites_an_earlier_imported_file(service: EmbeddedService, legacy: Path) -> None:
    (legacy / "runs.db.imported").write_bytes(b"the first one")
    make_store(legacy / "runs.db")
    import_legacy_runs(service.url, legacy, token=service.token)
    assert (legacy / "runs.db.imported").read_bytes() == b"the first one"
    assert (legacy / "runs.db.imported.1").is_file()


def test_a_legacy_store_that_fails_to_import_stays_in_place_with_a_warning(
    service: EmbeddedService, legacy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (legacy / "runs.db").write_text("garbage")
    with caplog.at_level(logging.WARNING):
        assert import_legacy_runs(service.url, legacy, token=service.token) is None
    assert (legacy / "runs.db").read_text() == "garbage"
    assert "symphony data import-runs" in caplog.text


async def test_the_embedded_service_imports_the_data_directorys_runs_db_when_it_opens(
    legacy: Path, database_url: str
) -> None:
    make_store(legacy / "runs.db")
    service = open_embedded(legacy / "data", database_url)
    try:
        async with service.client() as client:
            runs = (await client.list_runs()).items
        assert sorted(run.id for run in runs) == ["aaaa0001", "bbbb0002"]
        assert not (legacy / "runs.db").exists() and (legacy / "runs.db.imported").is_file()
    finally:
        service.close()
    reopened = open_embedded(legacy / "data", database_url)  # nothing left to import: opens as usual
    reopened.close()


# -- the command ----------------------------------------------------------------------------------


def test_import_runs_command_imports_into_the_embedded_service(home: Symphony, tmp_path: Path) -> None:
    path = make_store(tmp_path / "old-runs.db")
    document = parse_json(home.run("data", "import-runs", str(path), "--json"))
    assert {k: document[k] for k in ("runs", "skipped", "nodes", "cache_entries")} == {
        "runs": 2,
        "skipped": 0,
        "nodes": 2,
        "cache_entries": 1,
    }
    again = home.run("data", "import-runs", str(path))
    assert again.returncode == 0, again.stderr
    assert "imported 0 runs (2 already present)" in again.stdout
    assert path.is_file()  # an explicit import leaves the file where it is


def test_import_runs_command_writes_to_the_database_given(home: Symphony, tmp_path: Path, database_url: str) -> None:
    path = make_store(tmp_path / "old-runs.db")
    document = parse_json(home.run("data", "import-runs", str(path), "--database", database_url, "--json"))
    assert document["runs"] == 2


def test_import_runs_command_refuses_a_missing_file(home: Symphony, tmp_path: Path) -> None:
    _fails(home.run("data", "import-runs", str(tmp_path / "nothing.db")), "No file", "nothing.db")


def test_import_runs_command_refuses_a_foreign_file(home: Symphony, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n" * 200)
    _fails(home.run("data", "import-runs", str(path)), "is not a SQLite database")
