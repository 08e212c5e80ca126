"""The status snapshot another process reads: written while the pool changes, marked closed at the end."""

from __future__ import annotations

import os
from pathlib import Path

from symphony.builtin_plugins.pit.pool.snapshot import SnapshotWriter, read_snapshot

from .conftest import MakePool, eventually, fake


async def test_the_snapshot_holds_the_writers_pid_and_the_hot_model(make_pool: MakePool, tmp_path: Path) -> None:
    pool = make_pool(fake("m"))
    path = tmp_path / "pool" / "status.json"
    pool.snapshot = SnapshotWriter(path, pool.status, interval=0.05)
    async with pool.use("m"):
        pass

    def hot_on_disk() -> bool:
        snapshot = read_snapshot(path)
        return snapshot is not None and snapshot.status.models[0].state == "hot"

    await eventually(hot_on_disk)
    snapshot = read_snapshot(path)
    assert snapshot is not None
    assert (snapshot.pid, snapshot.alive, snapshot.closed) == (os.getpid(), True, False)


async def test_a_closed_pools_snapshot_says_so_and_is_not_alive(make_pool: MakePool, tmp_path: Path) -> None:
    pool = make_pool(fake("m"))
    path = tmp_path / "status.json"
    pool.snapshot = SnapshotWriter(path, pool.status)
    async with pool.use("m"):
        pass
    await pool.close()
    snapshot = read_snapshot(path)
    assert snapshot is not None
    assert (snapshot.closed, snapshot.alive, snapshot.status.models[0].state) == (True, False, "cold")


def test_an_unreadable_snapshot_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    path.write_text("{not json")
    assert read_snapshot(path) is None


async def test_hits_reach_the_snapshot_at_the_next_health_round(make_pool: MakePool, tmp_path: Path) -> None:
    pool = make_pool(fake("m"), health_interval=0.05)
    path = tmp_path / "status.json"
    pool.snapshot = SnapshotWriter(path, pool.status, interval=0.05)
    for _ in range(3):  # one cold start, then two hits that change no state
        async with pool.use("m"):
            pass

    def counted() -> bool:
        snapshot = read_snapshot(path)
        return snapshot is not None and (snapshot.status.allocations, snapshot.status.hits) == (3, 2)

    await eventually(counted)
