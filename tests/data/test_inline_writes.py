"""Checkpoints written on the event loop through the raw SQLite connection (service/inline.py): the general path's
rights and refusals, rows read once forgotten when anyone else commits, no wait on the loop, nothing acknowledged lost.

The embedded default (the direct transport on a SQLite file) takes this path for ``save_nodes``; the HTTP app takes
the general one, so parity is checked against it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import pytest

from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.direct import DirectTransport
from symphony.builtin_plugins.data.embedded import EmbeddedService, open_embedded
from symphony.hookspecs import AuthorizationError, NotFoundError, SymphonyError, UserId, ValidationError
from symphony.hookspecs.ports import CreateTokenRequest, CreateUserRequest, NewRun, NodeCheckpoint

DEADLINE = 30.0


def _run(run_id: str) -> NewRun:
    return NewRun(
        id=run_id, workflow_id="hello", workflow_name="Hello", document=b"\x80", inputs=b"\x80", nodes_total=1
    )


def _node(node_id: str) -> NodeCheckpoint:
    return NodeCheckpoint(node_id=node_id, state="succeeded", attempts=1, outputs=b"\x81\xa3out\x01")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[EmbeddedService]:
    service = open_embedded(tmp_path / "data")
    yield service
    service.close()


@pytest.fixture
async def admin(service: EmbeddedService) -> AsyncIterator[DataClient]:
    async with service.client() as client:
        yield client


def _database(service: EmbeddedService) -> sqlite3.Connection:
    """Another connection to the service's file, as another process (the CLI, an admin) would open it."""
    path = service.url.removeprefix("sqlite:///")
    return sqlite3.connect(path, isolation_level=None)


async def _token(admin: DataClient, name: str, role: str, *, expires_in: float | None = None) -> tuple[str, str]:
    """A new identity's id and a token of its own."""
    user = await admin.create_user(CreateUserRequest(name=name, email=f"{name}@example.org", role=role))
    made = await admin.create_token(CreateTokenRequest(name=name, user_id=user.id, expires_in=expires_in))
    return user.id, made.token


async def _outcome(client: DataClient, run_id: str) -> type[SymphonyError] | None:
    try:
        await client.save_nodes(run_id, [_node("a")])
    except SymphonyError as error:
        return type(error)
    return None


@pytest.mark.parametrize(
    ("role", "relation", "expected"),
    [
        ("admin", "other", None),
        ("service", "other", None),
        ("editor", "own", None),
        ("editor", "other", NotFoundError),
        ("viewer", "own", AuthorizationError),
        ("viewer", "other", NotFoundError),
    ],
)
async def test_who_may_save_checkpoints_is_the_same_on_the_event_loop_as_over_http(
    service: EmbeddedService, admin: DataClient, role: str, relation: str, expected: type[SymphonyError] | None
) -> None:
    user_id, token = await _token(admin, "caller", "editor" if role == "viewer" else role)
    if relation == "own":
        async with service.client(token) as caller:
            await caller.create_run(_run("run0001"))
    else:
        await admin.create_run(_run("run0001"))
    if role == "viewer":  # demoted after starting a run: the only way a viewer owns one
        with _database(service) as database:
            database.execute("UPDATE users SET role = 'viewer' WHERE id = ?", (user_id,))
    async with service.client(token) as direct, service.client(token, transport="asgi") as http:
        assert (await _outcome(direct, "run0001"), await _outcome(http, "run0001")) == (expected, expected)


#: What an admin's script might do: revoke the runner's token straight in the database file.
_REVOKE = (
    "import sqlite3, sys; database = sqlite3.connect(sys.argv[1]);"
    " database.execute(\"UPDATE api_tokens SET revoked_at = '2000-01-01 00:00:00.000000' WHERE name = 'runner'\");"
    " database.commit()"
)


@pytest.mark.parametrize("where", ["service", "another process"])
async def test_a_token_revoked_after_a_checkpoint_is_refused_on_the_next(
    service: EmbeddedService, admin: DataClient, where: str
) -> None:
    _, token = await _token(admin, "runner", "service")
    await admin.create_run(_run("run0001"))
    async with service.client(token) as runner:
        await runner.save_nodes("run0001", [_node("a")])  # the token's row is read, and kept
        if where == "service":
            (made,) = (await admin.list_tokens(user_id=(await runner.me()).id)).items
            await admin.revoke_token(made.id)
        else:
            path = service.url.removeprefix("sqlite:///")
            subprocess.run([sys.executable, "-c", _REVOKE, path], check=True, timeout=DEADLINE)
        with pytest.raises(AuthorizationError):
            await runner.save_nodes("run0001", [_node("b")])
    assert [node.node_id for node in await admin.run_nodes("run0001")] == ["a"]


async def test_a_user_demoted_after_a_checkpoint_may_not_save_the_next(
    service: EmbeddedService, admin: DataClient
) -> None:
    user_id, token = await _token(admin, "runner", "editor")
    async with service.client(token) as runner:
        await runner.create_run(_run("run0001"))
        await runner.save_nodes("run0001", [_node("a")])
        with _database(service) as database:
            database.execute("UPDATE users SET role = 'viewer' WHERE id = ?", (user_id,))
        with pytest.raises(AuthorizationError):
            await runner.save_nodes("run0001", [_node("b")])


async def test_a_run_deleted_after_a_checkpoint_refuses_the_next_as_not_found(
    service: EmbeddedService, admin: DataClient
) -> None:
    await admin.create_run(_run("run0001"))
    await admin.save_nodes("run0001", [_node("a")])  # the run's owner is read, and kept
    with _database(service) as database:
        database.execute("PRAGMA foreign_keys = ON")
        database.execute("DELETE FROM runs WHERE id = 'run0001'")
    with pytest.raises(NotFoundError):
        await admin.save_nodes("run0001", [_node("b")])


async def test_a_token_expiring_between_checkpoints_is_refused_once_it_has_expired(
    service: EmbeddedService, admin: DataClient
) -> None:
    _, token = await _token(admin, "runner", "service", expires_in=2.0)
    await admin.create_run(_run("run0001"))
    async with service.client(token) as runner:
        await runner.save_nodes("run0001", [_node("a")])  # nobody else commits after this: the row stays known
        end = time.monotonic() + DEADLINE
        refused = False
        while not refused and time.monotonic() < end:
            try:
                await runner.save_nodes("run0001", [_node("b")])
            except AuthorizationError:
                refused = True
            else:
                await asyncio.sleep(0.1)
    assert refused


async def test_a_checkpoint_waiting_for_another_writer_leaves_the_event_loop_running(
    service: EmbeddedService, admin: DataClient
) -> None:
    await admin.create_run(_run("run0001"))
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())
    blocker = _database(service)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        save = asyncio.create_task(admin.save_nodes("run0001", [_node("a")]))
        end = time.monotonic() + DEADLINE
        while ticks < 50 and time.monotonic() < end:
            await asyncio.sleep(0.01)
        assert not save.done() and ticks >= 50
        blocker.execute("COMMIT")
        await asyncio.wait_for(save, DEADLINE)
    finally:
        ticker.cancel()
        blocker.close()
    assert [node.node_id for node in await admin.run_nodes("run0001")] == ["a"]


async def test_a_checkpoint_sent_again_with_its_idempotency_key_is_answered_without_writing_again(
    service: EmbeddedService, admin: DataClient
) -> None:
    await admin.create_run(_run("run0001"))
    transport = admin._transport
    body = b'{"nodes": [{"node_id": "a", "state": "succeeded"}]}'
    first = await transport.request("PUT", "/v1/runs/run0001/nodes", query=None, body=body, key="k1")
    (saved,) = await admin.run_nodes("run0001")
    await admin.save_nodes("run0001", [NodeCheckpoint(node_id="a", state="failed")])
    again = await transport.request("PUT", "/v1/runs/run0001/nodes", query=None, body=body, key="k1")
    assert (first.status, again.status) == (204, 204)
    assert [node.state for node in await admin.run_nodes("run0001")] == ["failed"]
    assert saved.state == "succeeded"


_WRITER = """
import asyncio, sys
from pathlib import Path
from symphony.builtin_plugins.data.embedded import open_embedded
from symphony.hookspecs.ports import NewRun, NodeCheckpoint

async def main():
    service = open_embedded(Path(sys.argv[1]))
    client = service.client()
    await client.create_run(NewRun(id="run0001", workflow_id="w", workflow_name="w", document=b"", inputs=b"",
                                   nodes_total=0))
    index = 0
    while True:
        await client.save_nodes("run0001", [NodeCheckpoint(node_id=f"n{index:06d}", state="succeeded")])
        sys.stdout.write(f"n{index:06d}\\n")
        sys.stdout.flush()
        index += 1

asyncio.run(main())
"""


def test_every_acknowledged_checkpoint_survives_the_process_being_killed(tmp_path: Path) -> None:
    """A process crash loses nothing that was acknowledged: the save returned only once its commit was in the WAL."""
    folder = tmp_path / "data"
    writer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_WRITER), str(folder)], stdout=subprocess.PIPE, text=True
    )
    acknowledged: list[str] = []
    try:
        assert writer.stdout is not None
        end = time.monotonic() + DEADLINE
        while len(acknowledged) < 300 and time.monotonic() < end:
            line = writer.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        os.kill(writer.pid, signal.SIGKILL)  # mid-stream: saves are under way
    finally:
        writer.kill()
        writer.wait(DEADLINE)
    assert len(acknowledged) >= 300, "the writer stopped before acknowledging enough checkpoints"
    with sqlite3.connect(folder / "service.db") as database:
        stored = {row[0] for row in database.execute("SELECT node_id FROM run_nodes WHERE run_id = 'run0001'")}
    assert set(acknowledged) <= stored


_FINISHER = """
import asyncio, os, sys
from pathlib import Path
from symphony.builtin_plugins.data.embedded import open_embedded
from symphony.hookspecs.ports import NewRun, NodeCheckpoint, RunUpdate

async def main():
    service = open_embedded(Path(sys.argv[1]))
    async with service.client() as client:
        await client.create_run(NewRun(id="run0001", workflow_id="w", workflow_name="w", document=b"", inputs=b"",
                                       nodes_total=20))
        os.write(1, b"checkpoints\\n")
        for index in range(20):
            await client.save_nodes("run0001", [NodeCheckpoint(node_id=f"n{index}", state="succeeded")])
        os.write(1, b"finish\\n")
        await client.update_run("run0001", RunUpdate(state="succeeded", finished_at=1.0))
        os.write(1, b"finished\\n")
    service.close()

asyncio.run(main())
"""


def _log_syncs(folder: Path, trace: Path) -> list[str]:
    """Run the finisher under strace; the markers it writes and the fsyncs of the write-ahead log, in order."""
    command = ["strace", "-f", "-y", "-e", "trace=write,fsync,fdatasync", "-o", str(trace)]
    subprocess.run([*command, sys.executable, "-c", textwrap.dedent(_FINISHER), str(folder)], check=True, timeout=120)
    events = []
    for line in trace.read_text().splitlines():
        if "service.db-wal>" in line and ("fsync(" in line or "fdatasync(" in line):
            events.append("sync")
        elif marker := next((m for m in ("checkpoints", "finish", "finished") if f'"{m}\\n"' in line), None):
            events.append(marker)
    return events


def _can_trace() -> bool:
    """strace is installed and may trace here (a container may forbid ptrace)."""
    if shutil.which("strace") is None:
        return False
    return subprocess.run(["strace", "-o", os.devnull, "true"], check=False, capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_trace(), reason="strace, allowed to trace, is needed to see the fsyncs")
def test_a_run_is_answered_finished_only_once_the_log_is_on_disk(tmp_path: Path) -> None:
    """Checkpoints are committed without an fsync (synchronous=NORMAL); the update ending the run forces the log."""
    events = _log_syncs(tmp_path / "data", tmp_path / "trace")
    between = events[events.index("checkpoints") : events.index("finished") + 1]
    assert between == ["checkpoints", "finish", "sync", "finished"]


async def test_the_log_is_copied_into_the_database_file_while_checkpoints_are_written(
    service: EmbeddedService, admin: DataClient
) -> None:
    """The inline connection leaves checkpointing the log to a worker thread; it must still happen, or the log grows."""
    await admin.create_run(_run("run0001"))
    database = Path(service.url.removeprefix("sqlite:///"))
    before = database.stat().st_size
    outputs = bytes(1024)
    for index in range(1000):  # ~1 MiB of outputs, in more commits than one checkpoint of the log waits for
        await admin.save_nodes("run0001", [NodeCheckpoint(node_id=f"n{index:04d}", state="succeeded", outputs=outputs)])
    end = time.monotonic() + DEADLINE
    while database.stat().st_size < before + 256 * 1024 and time.monotonic() < end:
        await asyncio.sleep(0.05)
    assert database.stat().st_size >= before + 256 * 1024


async def test_of_two_known_callers_the_one_whose_token_is_revoked_is_refused_at_once_and_the_other_saves_on(
    service: EmbeddedService, admin: DataClient
) -> None:
    """Identities are kept per token between checkpoints: a revocation must reach the one it names, at once."""
    _, first_token = await _token(admin, "first", "service")
    second_id, second_token = await _token(admin, "second", "service")
    await admin.create_run(_run("run0001"))
    async with service.client(first_token) as first, service.client(second_token) as second:
        await first.save_nodes("run0001", [_node("a")])
        await second.save_nodes("run0001", [_node("b")])  # both identities are known now
        (made,) = (await admin.list_tokens(user_id=UserId(second_id))).items
        await admin.revoke_token(made.id)
        with pytest.raises(AuthorizationError):
            await second.save_nodes("run0001", [_node("c")])
        await first.save_nodes("run0001", [_node("d")])
    assert sorted(node.node_id for node in await admin.run_nodes("run0001")) == ["a", "b", "d"]


# -- the direct transport's checkpoints, saved without a request (``save_nodes_now``, ``Service.inline_route``) --------

_BODY = b'{"nodes": [{"node_id": "a", "state": "succeeded"}]}'


async def _refusal(client: DataClient, run_id: str, nodes: list[NodeCheckpoint]) -> tuple[type[SymphonyError], str]:
    with pytest.raises(SymphonyError) as refused:
        await client.save_nodes(run_id, nodes)
    return type(refused.value), str(refused.value)


async def _refused_alike(
    service: EmbeddedService, token: str, run_id: str, nodes: list[NodeCheckpoint]
) -> type[SymphonyError]:
    """The error a save is refused with, the same in process and over the HTTP app (message included)."""
    async with service.client(token) as direct, service.client(token, transport="asgi") as http:
        in_process, over_http = await _refusal(direct, run_id, nodes), await _refusal(http, run_id, nodes)
    assert in_process == over_http
    return in_process[0]


@pytest.mark.parametrize(
    "nodes",
    [
        [NodeCheckpoint(node_id="a", state="bogus")],
        [NodeCheckpoint(node_id="", state="succeeded")],
        [NodeCheckpoint(node_id="a" * 201, state="succeeded")],
        [NodeCheckpoint(node_id="a", state="succeeded", attempts=-1)],
        [NodeCheckpoint(node_id="a", state="succeeded", outputs=bytes(1024 * 1024))],
        [NodeCheckpoint(node_id=str(index), state="succeeded") for index in range(1001)],
    ],
    ids=["state", "empty-id", "long-id", "negative-attempts", "too-large", "too-many"],
)
async def test_a_checkpoint_whose_body_the_service_refuses_is_refused_alike_in_process_and_not_saved(
    service: EmbeddedService, admin: DataClient, nodes: list[NodeCheckpoint]
) -> None:
    await admin.create_run(_run("run0001"))
    assert await _refused_alike(service, service.token, "run0001", nodes) is ValidationError
    assert await admin.run_nodes("run0001") == []


@pytest.mark.parametrize(
    ("caller", "run_id", "expected"),
    [
        ("unknown token", "run0001", AuthorizationError),
        ("another editor", "run0001", NotFoundError),
        ("admin", "run0002", NotFoundError),
        ("admin", "run/0001", NotFoundError),
    ],
)
async def test_a_checkpoint_the_caller_may_not_save_is_refused_alike_in_process_and_not_saved(
    service: EmbeddedService, admin: DataClient, caller: str, run_id: str, expected: type[SymphonyError]
) -> None:
    await admin.create_run(_run("run0001"))
    token = {"unknown token": "sym_not-a-token", "admin": service.token}.get(caller)
    if token is None:
        token = (await _token(admin, "other", "editor"))[1]
    assert await _refused_alike(service, token, run_id, [_node("a")]) is expected
    assert await admin.run_nodes("run0001") == []


async def test_failed_token_checks_of_checkpoints_count_until_the_caller_is_held_off(
    service: EmbeddedService, admin: DataClient
) -> None:
    await admin.create_run(_run("run0001"))
    limit = service.service.settings.max_failed_token_checks
    async with service.client("sym_not-a-token") as caller:
        refusals = {(await _refusal(caller, "run0001", [_node("a")]))[0] for _ in range(limit)}
        _, held_off = await _refusal(caller, "run0001", [_node("a")])
    assert refusals == {AuthorizationError}
    assert "Too many failed token checks" in held_off


async def test_a_checkpoint_saved_in_process_keeps_every_field(service: EmbeddedService, admin: DataClient) -> None:
    await admin.create_run(_run("run0001"))
    node = NodeCheckpoint(
        node_id="a", state="failed", attempts=2, outputs=b"\x80", error="boom", detail="d", queue_wait=0.5, run_time=1.5
    )
    await admin.save_nodes("run0001", [node])
    (saved,) = await admin.run_nodes("run0001")
    assert saved.finished_at is not None
    assert saved == msgspec.structs.replace(node, finished_at=saved.finished_at)


async def test_a_checkpoint_is_committed_in_process_without_a_request(
    service: EmbeddedService, admin: DataClient
) -> None:
    await admin.create_run(_run("run0001"))
    assert DirectTransport(service.service, service.token).save_nodes_now("run0001", _BODY)
    assert [node.node_id for node in await admin.run_nodes("run0001")] == ["a"]


async def test_a_checkpoint_that_would_wait_for_another_writer_is_left_to_a_request(
    service: EmbeddedService, admin: DataClient
) -> None:
    await admin.create_run(_run("run0001"))
    blocker = _database(service)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        assert not DirectTransport(service.service, service.token).save_nodes_now("run0001", _BODY)
        blocker.execute("COMMIT")
    finally:
        blocker.close()
    assert await admin.run_nodes("run0001") == []
