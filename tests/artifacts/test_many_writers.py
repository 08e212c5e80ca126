"""Two processes storing into one store at once lose nothing and corrupt nothing."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from symphony.builtin_plugins.pit.artifacts import ArtifactStore
from symphony.builtin_plugins.pit.artifacts.db import ObjectRow, PackRow

# Stores 40 objects: the even ones are the same in every writer (so both race to store the same
# chunks), the odd ones are this writer's own; prints each id once put returned.
_WRITER = """
import random, sys
from pathlib import Path
from symphony.builtin_plugins.pit.artifacts import ArtifactStore, StoreOptions

store = ArtifactStore(Path(sys.argv[1]), StoreOptions(pack_size=131072))
shared, own = random.Random(0).randbytes(2_000_000), random.Random(int(sys.argv[2])).randbytes(2_000_000)
for index in range(40):
    base = shared if index % 2 == 0 else own
    content = base[: 100_000 + 40_000 * index] + index.to_bytes(4, "big")
    print(store.put_sync(content), flush=True)
"""


def _content(writer: int, index: int) -> bytes:
    base = random.Random(0 if index % 2 == 0 else writer).randbytes(2_000_000)
    return base[: 100_000 + 40_000 * index] + index.to_bytes(4, "big")


@pytest.mark.slow
async def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    ArtifactStore(root).close()  # the index exists before both race to open it
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(root), str(seed)], stdout=subprocess.PIPE, text=True)
        for seed in (1, 2)
    ]
    outputs = [writer.communicate(timeout=600)[0].split() for writer in writers]  # timeout: a hang guard
    assert [writer.returncode for writer in writers] == [0, 0]
    store = ArtifactStore(root)
    for seed, ids in zip((1, 2), outputs, strict=True):
        assert len(ids) == 40
        for index, artifact_id in enumerate(ids):
            assert await store.get(artifact_id) == _content(seed, index)
    assert store.stats().objects == 60  # 20 shared, 20 + 20 own
    assert store.verify() == []


def _age_everything(store: ArtifactStore, seconds: float) -> None:
    """Make every object and pack ``seconds`` older, as if stored that long ago."""
    with store.db.session() as session:
        session.execute(update(ObjectRow).values(created_at=ObjectRow.created_at - seconds))
        session.execute(update(PackRow).values(created_at=PackRow.created_at - seconds))


@pytest.mark.slow
async def test_gc_running_while_another_process_writes_keeps_everything_it_stores(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    store = ArtifactStore(root)
    dead = [await store.put(random.Random(seed).randbytes(300_000)) for seed in range(100, 105)]
    _age_everything(store, 2 * store.options.gc_grace)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(root), "3"], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    ids, collected = [], []
    for line in writer.stdout:
        ids.append(line.strip())
        collected += store.gc().objects  # unnamed, but younger than gc_grace: the writer's objects stay
    assert writer.wait(timeout=600) == 0
    assert sorted(collected) == sorted(dead)
    for index, artifact_id in enumerate(ids):
        assert await store.get(artifact_id) == _content(3, index)
    assert store.verify() == []
