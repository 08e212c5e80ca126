"""DataClient's run records against the real embedded service, on SQLite and PostgreSQL, directly and through the
ASGI app: the port's run methods as the DAG tracker calls them, and their errors as the port's exception classes."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import create_engine, func, select

from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.embedded import EmbeddedService, open_embedded
from symphony.builtin_plugins.data.service.models import IDEMPOTENCY_KEYS
from symphony.hookspecs import AuthorizationError, NotFoundError, ValidationError
from symphony.hookspecs.ports import (
    CreateTokenRequest,
    CreateUserRequest,
    NewRun,
    NodeCheckpoint,
    RunProcess,
    RunUpdate,
)

PROCESS = RunProcess(pid=4242, hostname="box", started=1234.5)


def new_run(run_id: str = "run00001", **fields: object) -> NewRun:
    values: dict[str, object] = {
        "id": run_id,
        "workflow_id": "hello",
        "workflow_name": "Hello",
        "document": b"\x81\xa2id\xa5hello",
        "inputs": b"\x80",
        "nodes_total": 2,
        "process": PROCESS,
    }
    return NewRun(**{**values, **fields})  # type: ignore[arg-type]


@pytest.fixture
def service(tmp_path: Path, database_url: str) -> Iterator[EmbeddedService]:
    service = open_embedded(tmp_path / "data", database_url)
    yield service
    service.close()


@pytest.fixture(params=["direct", "asgi"])
def transport(request: pytest.FixtureRequest) -> str:
    """The embedded service's two in-process transports: its handlers directly, or its HTTP app."""
    kind: str = request.param
    return kind


@pytest.fixture
async def admin(service: EmbeddedService, transport: str) -> AsyncIterator[DataClient]:
    async with service.client(transport=transport) as client:
        yield client


async def _as(service: EmbeddedService, admin: DataClient, role: str, transport: str) -> DataClient:
    user = await admin.create_user(CreateUserRequest(name=role, email=f"{role}@example.org", role=role))
    token = await admin.create_token(CreateTokenRequest(name="t", user_id=user.id))
    return service.client(token.token, transport=transport)


async def test_a_created_run_reads_back_by_id_and_by_prefix(admin: DataClient) -> None:
    created = await admin.create_run(new_run())
    assert (created.state, created.process, created.owner) == ("running", PROCESS, (await admin.me()).id)
    assert await admin.get_run("run00001") == created
    assert await admin.get_run("run0") == created


async def test_an_unknown_run_reads_as_none(admin: DataClient) -> None:
    assert await admin.get_run("no-such-run") is None


async def test_an_ambiguous_prefix_raises_a_validation_error(admin: DataClient) -> None:
    await admin.create_run(new_run("abcd0001"))
    await admin.create_run(new_run("abcd0002"))
    with pytest.raises(ValidationError, match="ambiguous"):
        await admin.get_run("abcd")


async def test_a_duplicate_run_id_raises_a_validation_error(admin: DataClient) -> None:
    await admin.create_run(new_run())
    with pytest.raises(ValidationError, match="exists already"):
        await admin.create_run(new_run())


async def test_checkpoints_saved_read_back_and_fill_the_cache(admin: DataClient) -> None:
    await admin.create_run(new_run())
    nodes = [
        NodeCheckpoint(node_id="a", state="succeeded", attempts=1, outputs=b"\x81\xa1x\x01", cache_key="k", uses="u"),
        NodeCheckpoint(node_id="b", state="skipped"),
    ]
    await admin.save_nodes("run00001", nodes)
    await admin.save_nodes("run00001", nodes)  # a repeat (a retry after a network error) changes nothing
    saved = await admin.run_nodes("run00001")
    assert [(n.node_id, n.state, n.outputs) for n in saved] == [
        ("a", "succeeded", b"\x81\xa1x\x01"),
        ("b", "skipped", None),
    ]
    entry = await admin.cached_node("k")
    assert entry is not None and (entry.run_id, entry.node_id, entry.outputs) == ("run00001", "a", b"\x81\xa1x\x01")
    (listed,) = (await admin.list_cache()).items
    assert (listed.key, listed.outputs, listed.workflow_id, listed.size) == ("k", None, "hello", 4)
    await admin.delete_cache(["k"])
    assert await admin.cached_node("k") is None


async def test_every_field_of_a_checkpoint_and_its_cache_entry_reads_back_as_saved(admin: DataClient) -> None:
    await admin.create_run(new_run())
    sent = NodeCheckpoint(
        node_id="a",
        state="succeeded",
        attempts=3,
        outputs=None,
        outputs_ref="art-1",
        error="flaky",
        detail="third try",
        queue_wait=0.25,
        run_time=1.5,
        cache_key="k",
        uses="pkg.task",
    )
    await admin.save_nodes("run00001", [sent])
    (saved,) = await admin.run_nodes("run00001")
    assert saved.finished_at is not None
    assert msgspec.structs.replace(saved, finished_at=None, cache_key="k", uses="pkg.task") == sent
    entry = await admin.cached_node("k")
    assert entry is not None
    assert (entry.uses, entry.outputs, entry.outputs_ref, entry.run_id, entry.node_id, entry.created_at) == (
        "pkg.task",
        None,
        "art-1",
        "run00001",
        "a",
        saved.finished_at,
    )


async def test_an_update_claims_the_run_and_forgets_nodes_in_one_call(admin: DataClient) -> None:
    await admin.create_run(new_run())
    await admin.save_nodes("run00001", [NodeCheckpoint(node_id="a", state="failed", error="x")])
    await admin.update_run("run00001", RunUpdate(state="failed", finished_at=50.0, error="x"))
    other = RunProcess(pid=1, hostname="other", started=9.0)
    await admin.update_run(
        "run00001",
        RunUpdate(state="running", inputs=b"\x81", process=other, finished_at=None, error=None, forget=["a"]),
    )
    run = await admin.get_run("run00001")
    assert run is not None
    assert (run.state, run.inputs, run.process, run.finished_at, run.error) == ("running", b"\x81", other, None, None)
    assert await admin.run_nodes("run00001") == []


async def test_a_cancel_request_is_recorded(admin: DataClient) -> None:
    await admin.create_run(new_run())
    await admin.update_run("run00001", RunUpdate(cancel_requested=True))
    run = await admin.get_run("run00001")
    assert run is not None and run.cancel_requested


async def test_retry_copies_checkpoints_from_the_parent(admin: DataClient) -> None:
    await admin.create_run(new_run("parent01"))
    await admin.create_run(new_run("child001", parent_id="parent01"))
    await admin.save_nodes("parent01", [NodeCheckpoint(node_id="a", state="succeeded", outputs=b"1")])
    await admin.copy_nodes("parent01", "child001", ["a"])
    assert [n.outputs for n in await admin.run_nodes("child001")] == [b"1"]


async def test_finished_runs_are_listed_for_retention_and_deleted(admin: DataClient) -> None:
    await admin.create_run(new_run("old00001"))
    await admin.create_run(new_run("live0001"))
    await admin.update_run("old00001", RunUpdate(state="succeeded", finished_at=10.0))
    page = await admin.list_runs(finished_before=20.0)
    assert [run.id for run in page.items] == ["old00001"]
    assert page.items[0].size > 0
    assert await admin.delete_runs(["old00001", "live0001"], finished_before=20.0) == ["old00001"]
    assert [run.id for run in (await admin.list_runs()).items] == ["live0001"]


async def test_unknown_runs_raise_not_found_on_writes_and_node_reads(admin: DataClient) -> None:
    with pytest.raises(NotFoundError):
        await admin.update_run("nope", RunUpdate(state="failed"))
    with pytest.raises(NotFoundError):
        await admin.save_nodes("nope", [NodeCheckpoint(node_id="a", state="succeeded")])
    with pytest.raises(NotFoundError):
        await admin.run_nodes("nope")


async def test_a_viewer_may_not_start_runs(service: EmbeddedService, admin: DataClient, transport: str) -> None:
    async with await _as(service, admin, "viewer", transport) as viewer:
        with pytest.raises(AuthorizationError):
            await viewer.create_run(new_run())


async def test_runs_created_at_the_same_instant_page_without_loss_or_repeat(
    service: EmbeddedService, admin: DataClient, tmp_path: Path
) -> None:
    # An imported store can hold several runs with one created_at; the cursor breaks ties by id.
    from symphony.builtin_plugins.data.import_runs import import_runs_file

    from .test_import_runs import make_store

    path = make_store(tmp_path / "old.db")
    db = sqlite3.connect(path)
    db.execute("update runs set created_at = 5.0, finished_at = 7.0")
    db.commit()
    db.close()
    import_runs_file(service.url, path, token=service.token)
    for finished_before in (None, 8.0):
        seen: list[str] = []
        cursor = None
        while True:
            page = await admin.list_runs(limit=1, cursor=cursor, finished_before=finished_before)
            seen += [run.id for run in page.items]
            if (cursor := page.next_cursor) is None:
                break
        expected = ["bbbb0002", "aaaa0001"] if finished_before is None else ["aaaa0001", "bbbb0002"]
        assert seen == expected


async def test_checkpoints_and_run_updates_claim_no_idempotency_key(
    service: EmbeddedService, admin: DataClient
) -> None:
    # They are upserts: repeating one is harmless, so the hot path skips the key's two statements.
    await admin.create_run(new_run())
    engine = create_engine(service.url)
    try:
        with engine.connect() as connection:
            before = connection.execute(select(func.count()).select_from(IDEMPOTENCY_KEYS)).scalar_one()
        await admin.save_nodes("run00001", [NodeCheckpoint(node_id="a", state="succeeded")])
        await admin.update_run("run00001", RunUpdate(state="succeeded"))
        with engine.connect() as connection:
            after = connection.execute(select(func.count()).select_from(IDEMPOTENCY_KEYS)).scalar_one()
    finally:
        engine.dispose()
    assert after == before
