"""A writer SIGKILLed in the middle of a put leaves a store that verifies clean and keeps working."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import select

from symphony.builtin_plugins.pit.artifacts import ArtifactStore, StoreOptions
from symphony.builtin_plugins.pit.artifacts.db import ChunkRow, ObjectRow, PackRow

# Stores ``objects`` objects of 50 KB to 3 MB, printing each id once put returned, then streams a
# large object of fresh bytes and says "mid-put" once several packs of it are written: the test
# kills it there.  Small packs, so a kill lands among pack writes and index commits.
_WRITER = """
import random, sys
from pathlib import Path
from symphony.builtin_plugins.pit.artifacts import ArtifactStore, StoreOptions

store = ArtifactStore(Path(sys.argv[1]), StoreOptions(pack_size=65536))
rng = random.Random(int(sys.argv[2]))
base = rng.randbytes(3_000_000)
for _ in range(int(sys.argv[3])):
    cut = rng.randrange(50_000, len(base))
    content = base[:cut] + rng.randbytes(rng.randrange(1, 200_000))
    print(store.put_sync(content), len(content), cut, flush=True)

def endless():
    for index in range(100_000):
        if index == 16:
            print("mid-put", flush=True)
        yield rng.randbytes(1_000_000)

store.put_sync(endless())
"""


def _kill_mid_put(root: Path, seed: int, objects: int) -> list[str]:
    """Run the writer until it is in the middle of a put, SIGKILL it, and return the objects it reported."""
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(root), str(seed), str(objects)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    lines = []
    for line in writer.stdout:  # ends when the writer does: a hang guard is the test's timeout
        if line == "mid-put\n":
            break
        lines.append(line)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert writer.returncode == -signal.SIGKILL
    return lines


def _unused_chunks(store: ArtifactStore) -> int:
    with store.db.session(readonly=True) as session:
        used = {c for encoded in session.scalars(select(ObjectRow.chunk_ids)) for c in msgspec.msgpack.decode(encoded)}
        return len(set(session.scalars(select(ChunkRow.id))) - used)


@pytest.mark.slow
@pytest.mark.parametrize("objects", [0, 1, 5])
async def test_a_writer_killed_mid_write_leaves_a_clean_usable_store(tmp_path: Path, objects: int) -> None:
    root = tmp_path / "artifacts"
    reported = _kill_mid_put(root, seed=objects, objects=objects)
    store = ArtifactStore(root)
    assert _unused_chunks(store) > 0  # the kill interrupted a put that had committed packs
    assert store.verify() == []
    base = random.Random(objects).randbytes(3_000_000)
    for line in reported:  # every put that returned is readable, byte for byte
        artifact_id, size, cut = line.split()
        content = await store.get(artifact_id)
        assert len(content) == int(size)
        assert content[: int(cut)] == base[: int(cut)]
    fresh = await store.put(base + b"after the crash")
    assert await store.get(fresh) == base + b"after the crash"


@pytest.mark.slow
async def test_gc_removes_what_a_killed_writer_left_behind(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    reported = _kill_mid_put(root, seed=99, objects=3)
    store = ArtifactStore(root, StoreOptions(gc_grace=0))
    kept = [line.split()[0] for line in reported]
    store.add_root_provider(lambda: kept)
    store.gc()
    assert store.verify() == []
    assert _unused_chunks(store) == 0
    assert not list(root.rglob(".*.tmp"))
    assert {key.rsplit("/", 1)[-1] for key in store.backend.keys("packs")} == {
        f"{row}.pack" for row in _recorded_packs(store)
    }
    for artifact_id in kept:
        await store.get(artifact_id)


def _recorded_packs(store: ArtifactStore) -> set[str]:
    with store.db.session(readonly=True) as session:
        return set(session.scalars(select(PackRow.id)))
