"""Migrations: an empty database and a populated one at every released revision reach the head schema,
and the head schema is exactly what the models declare."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text

from symphony.builtin_plugins.data.service import migrate
from symphony.builtin_plugins.data.service.db import normalize_url
from symphony.builtin_plugins.data.service.migrate import alembic_config
from symphony.builtin_plugins.data.service.models import Base

from .conftest import SPEC, make_client

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
TOKEN = "sym_populated-before-the-upgrade"

#: Rows as revision 0001 stored them (raw SQL: the models follow the head).
ROWS_0001 = [
    "insert into users (id, name, email, role, created_at) values ('u1', 'ann', 'ann@x.org', 'admin', :at)",
    "insert into api_tokens (id, user_id, name, digest, created_at) values ('t1', 'u1', 'cli', :digest, :at)",
    "insert into workflows (id, owner_id, name, spec, version, created_at, updated_at)"
    " values ('w1', 'u1', 'old', :spec, 1, :at, :at)",
    "insert into workflow_versions (workflow_id, version, name, spec, author_id, created_at)"
    " values ('w1', 1, 'old', :spec, 'u1', :at)",
    "insert into idempotency_keys (actor, key, route, request_digest, status, body, created_at)"
    " values ('u1', 'k1', 'POST /v1/workflows', :digest, 201, :spec, :at)",
]

#: Rows revision 0003 added: a run of u1's with a checkpoint and a cache entry (times are epoch seconds).
ROWS_0003 = [
    *ROWS_0001,
    "insert into runs (id, owner_id, workflow_id, workflow_name, document, inputs, state, nodes_total, created_at,"
    " updated_at, cancel_requested) values ('r1', 'u1', 'w', 'W', :digest, :digest, 'running', 1, 1.0, 1.0, false)",
    "insert into run_nodes (run_id, node_id, state, attempts, cached, queue_wait, run_time, finished_at)"
    " values ('r1', 'a', 'succeeded', 1, false, 0, 0, 2.0)",
    "insert into node_cache (key, uses, run_id, node_id, created_at) values ('k1', 'std/echo', 'r1', 'a', 2.0)",
]

#: Rows revision 0004 added: a grant and a trust mark of u1's (with their version) and a decision.
ROWS_0004 = [
    *ROWS_0003,
    "insert into extension_grants (owner_id, extension, permission, granted_at, granted_by, source)"
    " values ('u1', 'ext', 'file:read:/x', 1.0, 'ann', 'api')",
    "insert into extension_trust (owner_id, extension, trusted_at, trusted_by) values ('u1', 'ext', 1.0, 'ann')",
    "insert into permission_versions (owner_id, version) values ('u1', 2)",
    "insert into permission_audit (owner_id, at, extension, kind, permission, target, decision, rule, reason, mode)"
    " values ('u1', 1.0, 'ext', 'file', 'file:read:/x', '/x', 'denied', 'r', 'why', 'enforce')",
]

#: Rows written with each released revision's own schema (0002 only added an index, 0005 rebuilt run_nodes).
POPULATE = {"0001": ROWS_0001, "0002": ROWS_0001, "0003": ROWS_0003, "0004": ROWS_0004, "0005": ROWS_0004}

#: A run as the tracker starts it (documents are base64 MessagePack).
RUN = {"id": "r2", "workflow_id": "w", "workflow_name": "W", "document": "gA==", "inputs": "gA==", "nodes_total": 1}


def test_every_released_revision_has_rows_to_upgrade_from() -> None:
    revisions = [
        script.revision for script in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()
    ]
    assert sorted(revisions) == sorted(POPULATE)


def test_an_empty_database_is_migrated_to_the_head(database_url: str) -> None:
    assert migrate(database_url) == HEAD
    engine = create_engine(normalize_url(database_url))
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables >= {"users", "api_tokens", "workflows", "workflow_versions", "workflow_shares", "audit_log", "runs"}
    assert tables >= {"run_nodes", "node_cache"}


def test_migrating_twice_changes_nothing(database_url: str) -> None:
    assert migrate(database_url) == migrate(database_url) == HEAD


def test_the_head_schema_is_what_the_models_declare(database_url: str) -> None:
    migrate(database_url)
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


@pytest.mark.parametrize("revision", sorted(POPULATE))
async def test_a_populated_database_at_a_released_revision_upgrades_with_its_data(
    database_url: str, revision: str
) -> None:
    migrate(database_url, revision)
    engine = create_engine(normalize_url(database_url))
    values = {"at": datetime.now(UTC), "digest": hashlib.sha256(TOKEN.encode()).digest(), "spec": json.dumps(SPEC)}
    try:
        with engine.begin() as connection:
            for statement in POPULATE[revision]:
                connection.execute(text(statement), values)
    finally:
        engine.dispose()
    assert migrate(database_url) == HEAD
    async with make_client(database_url) as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        workflow = (await client.get("/v1/workflows/w1", headers=headers)).json()
        updated = await client.put("/v1/workflows/w1", json={"spec": SPEC, "expected_version": 1}, headers=headers)
        started = await client.post("/v1/runs", json=RUN, headers=headers)
        runs = (await client.get("/v1/runs", headers=headers)).json()["items"]
        grants = (await client.get("/v1/permissions/grants", headers=headers)).json()["items"]
    assert (workflow["name"], workflow["owner"], workflow["spec"]) == ("old", "u1", SPEC)
    assert updated.json()["version"] == 2
    assert started.status_code == 201, started.text
    assert {run["id"] for run in runs} == ({"r1", "r2"} if revision >= "0003" else {"r2"})
    assert [grant["permission"] for grant in grants] == (["file:read:/x"] if revision >= "0004" else [])


def test_threads_migrating_one_database_at_once_all_reach_the_head(database_url: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        revisions = list(pool.map(lambda _: migrate(database_url), range(4)))
    assert revisions == [HEAD] * 4


def test_an_upgrade_through_every_revision_is_one_transaction(database_url: str) -> None:
    # A migrator commits once: the version it read and every migration it ran are one write. Committing after each
    # migration let another migrator, which read the version meanwhile, run the later migrations again.
    commits: list[object] = []
    listener = commits.append
    event.listen(Engine, "commit", listener)
    try:
        assert migrate(database_url) == HEAD
    finally:
        event.remove(Engine, "commit", listener)
    assert len(commits) == 1


@pytest.mark.slow
def test_service_processes_migrating_one_database_at_once_all_reach_the_head(database_url: str) -> None:
    code = "import sys; from symphony.builtin_plugins.data.service import migrate; print(migrate(sys.argv[1]))"
    migrators = [
        subprocess.Popen([sys.executable, "-c", code, database_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    outcomes = [migrator.communicate(timeout=120) for migrator in migrators]
    assert [
        (migrator.returncode, out.decode().strip()) for migrator, (out, _) in zip(migrators, outcomes, strict=True)
    ] == [(0, HEAD)] * 4, [err.decode()[-2000:] for _, err in outcomes]
