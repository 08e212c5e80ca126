"""verify reports every problem with its fix; gc keeps what roots and the grace period protect."""

from __future__ import annotations

import contextlib
import hashlib
import random
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from symphony.builtin_plugins.pit.artifacts import ArtifactStore, StoreOptions
from symphony.builtin_plugins.pit.artifacts.packs import read_header
from symphony.hookspecs import DataError, NotFoundError


def _random(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _collectable(root: Path) -> ArtifactStore:
    """A store whose grace period is over as soon as a put returns."""
    return ArtifactStore(root, StoreOptions(gc_grace=0))


async def test_a_healthy_store_verifies_clean(store: ArtifactStore) -> None:
    for seed in range(3):
        await store.put(_random(200_000, seed))
    await store.put(b"tiny")
    assert store.verify() == []


async def test_verify_names_the_damaged_chunk_its_pack_and_the_fix(store: ArtifactStore) -> None:
    await store.put(_random(300_000, 1))
    pack = next((store.root / "packs").rglob("*.pack"))
    data = bytearray(pack.read_bytes())
    data[-10] ^= 1
    pack.write_bytes(bytes(data))
    [problem] = store.verify()
    assert problem.kind == "corrupt-chunk"
    assert pack.name in problem.detail
    assert "Restore packs/" in problem.fix


async def test_verify_reports_a_missing_pack_once_not_once_per_object(store: ArtifactStore) -> None:
    content = _random(300_000, 2)
    await store.put(content)
    await store.put(content + b"and a little more")
    next((store.root / "packs").rglob("*.pack")).unlink()
    kinds = [problem.kind for problem in store.verify()]
    assert kinds.count("missing-pack") == 1
    assert "corrupt-object" not in kinds


async def test_verify_reports_an_old_unrecorded_pack_as_an_orphan_for_gc(tmp_path: Path) -> None:
    store = _collectable(tmp_path)
    await store.put(_random(100_000, 3))
    pack = next((tmp_path / "packs").rglob("*.pack"))
    orphan = tmp_path / "packs" / "00" / ("0" * 32 + ".pack")  # as if a writer died before recording it
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(pack.read_bytes())
    [problem] = store.verify()
    assert (problem.kind, problem.subject) == ("orphan-pack", f"packs/00/{orphan.name}")
    assert "symphony artifacts gc" in problem.fix
    store.gc()
    assert not orphan.exists()
    assert store.verify() == []


async def test_gc_keeps_what_a_root_provider_names_and_deletes_the_rest(tmp_path: Path) -> None:
    store = _collectable(tmp_path)
    kept = await store.put(_random(300_000, 4))
    gone = await store.put(_random(300_000, 5))
    small = await store.put(b"small and unnamed")
    store.add_root_provider(lambda: [kept])
    report = store.gc()
    assert sorted(report.objects) == sorted([gone, small])
    assert await store.get(kept) == _random(300_000, 4)
    assert store.stats().objects == 1
    assert store.verify() == []


async def test_gc_dry_run_reports_what_would_go_and_deletes_nothing(tmp_path: Path) -> None:
    store = _collectable(tmp_path)
    gone = await store.put(_random(300_000, 6))
    before = store.stats()
    report = store.gc(dry_run=True)
    assert report.dry_run
    assert report.objects == [gone]
    assert report.packs
    assert report.bytes == before.stored_bytes
    assert store.stats() == before
    assert await store.get(gone) == _random(300_000, 6)


async def test_gc_frees_a_pack_only_when_none_of_its_chunks_is_used(tmp_path: Path) -> None:
    store = _collectable(tmp_path)
    shared = _random(300_000, 7)
    first = await store.put(shared)
    second = await store.put(shared + _random(300_000, 8))  # reuses every chunk of the first but the last
    store.add_root_provider(lambda: [second])
    report = store.gc()
    assert report.objects == [first]
    assert report.packs == []  # the first pack still holds the second object's chunks
    assert await store.get(second) == shared + _random(300_000, 8)
    assert store.verify() == []


async def test_gc_spares_objects_younger_than_the_grace_period(store: ArtifactStore) -> None:
    young = await store.put(_random(300_000, 9))
    assert store.gc().objects == []
    assert await store.get(young) == _random(300_000, 9)


async def test_storing_collected_content_again_makes_it_readable_again(tmp_path: Path) -> None:
    store = _collectable(tmp_path)
    content = _random(300_000, 10)
    artifact_id = await store.put(content)
    store.gc()
    assert await store.put(content) == artifact_id
    assert await store.get(artifact_id) == content
    assert store.verify() == []


async def test_a_put_reusing_chunks_that_gc_collects_meanwhile_fails_and_commits_nothing(tmp_path: Path) -> None:
    store = _collectable(tmp_path)
    old = _random(6_000_000, 11)
    await store.put(old)  # unnamed: collectable at once

    async def old_then_gc_then_new() -> AsyncIterator[bytes]:
        for start in range(0, len(old), 1_000_000):
            yield old[start : start + 1_000_000]  # its chunks are found stored: the put reuses them
        assert store.gc().objects  # collects them under the put's feet
        yield b"new tail"

    with pytest.raises(DataError, match=r"garbage-collected while it was being written\. Store it again"):
        await store.put(old_then_gc_then_new())
    artifact_id = "sha256:" + hashlib.sha256(old + b"new tail").hexdigest()
    with pytest.raises(NotFoundError):
        await store.get(artifact_id)
    assert store.verify() == []
    assert await store.put(old + b"new tail") == artifact_id
    assert await store.get(artifact_id) == old + b"new tail"


async def test_gc_deletes_the_temp_file_of_a_pack_write_that_was_killed(tmp_path: Path) -> None:
    store = _collectable(tmp_path)
    kept = await store.put(_random(100_000, 12))
    store.add_root_provider(lambda: [kept])
    torn = tmp_path / "packs" / "ab" / ".ab12.pack.x1y2.tmp"  # what LocalBackend.write leaves when killed
    torn.parent.mkdir(parents=True, exist_ok=True)
    torn.write_bytes(b"SYMPACK1 and half a pack")
    store.gc()
    assert not torn.exists()
    assert await store.get(kept) == _random(100_000, 12)


async def test_gc_repacks_a_pack_mostly_garbage_and_frees_it_a_grace_period_later(tmp_path: Path) -> None:
    store = _collectable(tmp_path)
    first = _random(1_000_000, 6)
    await store.put(first)
    kept = await store.put(first[:150_000] + _random(850_000, 7))  # shares its first chunks with the first's pack
    store.add_root_provider(lambda: [kept])
    before = store.stats().stored_bytes
    report = store.gc()
    assert len(report.repacked) == 1
    assert store.gc().packs == report.repacked  # the doomed pack, collected once its grace period is over
    assert store.stats().stored_bytes < before - 700_000
    assert await store.get(kept) == first[:150_000] + _random(850_000, 7)
    assert store.verify() == []


async def test_gc_dry_run_names_the_packs_it_would_repack_and_moves_nothing(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path, StoreOptions(gc_grace=0, repack_below=0))  # collects, never repacks
    first = _random(1_000_000, 8)
    await store.put(first)
    kept = await store.put(first[:150_000] + _random(850_000, 9))
    store.add_root_provider(lambda: [kept])
    store.gc()  # the first object is collected; its pack is kept whole for the shared chunks
    packs = sorted(p.name for p in (tmp_path / "packs").rglob("*.pack"))
    store.close()
    again = _collectable(tmp_path)
    again.add_root_provider(lambda: [kept])
    assert len(again.gc(dry_run=True).repacked) == 1
    assert sorted(p.name for p in (tmp_path / "packs").rglob("*.pack")) == packs
    assert again.stats().packs == len(packs)


async def test_gc_leaves_a_pack_with_a_damaged_chunk_as_it_is_for_verify(tmp_path: Path) -> None:
    store = _collectable(tmp_path)
    first = _random(1_000_000, 10)
    await store.put(first)
    kept = await store.put(first[:150_000] + _random(850_000, 11))
    store.add_root_provider(lambda: [kept])
    shared = min((tmp_path / "packs").rglob("*.pack"), key=lambda p: p.stat().st_mtime_ns)
    body = read_header(store.backend, shared.stem)[1]
    data = bytearray(shared.read_bytes())
    data[body + 100] ^= 1  # in the first chunk, which the kept object uses
    shared.write_bytes(bytes(data))
    assert store.gc().repacked == []
    assert shared.exists()
    assert [problem.kind for problem in store.verify()] == ["corrupt-chunk"]


def _lose_rows(root: Path, *, packs: bool = False) -> None:
    """Delete every chunk row (and pack row) from index.db, as a restore of an older backup would."""
    with contextlib.closing(sqlite3.connect(root / "index.db")) as connection, connection:
        connection.execute("DELETE FROM chunks")
        if packs:
            connection.execute("DELETE FROM packs")


async def test_repair_rebuilds_lost_chunk_rows_from_the_pack_headers(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    content = _random(300_000, 12)
    artifact_id = await store.put(content)
    chunks = store.stats().chunks
    _lose_rows(tmp_path)
    assert [problem.kind for problem in store.verify()] == ["missing-chunk"]
    report = store.repair()
    assert (report.chunks, report.packs) == (chunks, [])
    assert await store.get(artifact_id) == content
    assert store.verify() == []


async def test_repair_adopts_an_old_orphan_pack_holding_the_lost_chunks(tmp_path: Path) -> None:
    store = _collectable(tmp_path)
    content = _random(300_000, 13)
    artifact_id = await store.put(content)
    [pack] = (tmp_path / "packs").rglob("*.pack")
    _lose_rows(tmp_path, packs=True)
    assert sorted(problem.kind for problem in store.verify()) == ["missing-chunk", "orphan-pack"]
    assert store.repair().packs == [pack.stem]
    assert await store.get(artifact_id) == content
    assert store.verify() == []


async def test_repair_leaves_an_orphan_pack_younger_than_the_grace_period_to_its_writer(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)  # an hour's grace: the pack may be a live writer's, about to be recorded
    await store.put(_random(300_000, 14))
    _lose_rows(tmp_path, packs=True)
    report = store.repair()
    assert (report.chunks, report.packs) == (0, [])
