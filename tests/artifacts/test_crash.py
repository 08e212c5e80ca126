"""A writer SIGKILLed at any moment leaves a store that verifies clean and keeps working."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from symphony.builtin_plugins.pit.artifacts import ArtifactStore, StoreOptions
from symphony.builtin_plugins.pit.artifacts.db import PackRow

# Stores objects of 50 KB to 3 MB without end, printing each id once put returned; small packs
# so that a kill lands between pack writes, index commits and object commits alike.
_WRITER = """
import random, sys
from pathlib import Path
from symphony.builtin_plugins.pit.artifacts import ArtifactStore, StoreOptions

store = ArtifactStore(Path(sys.argv[1]), StoreOptions(pack_size=65536))
rng = random.Random(int(sys.argv[2]))
base = rng.randbytes(3_000_000)
while True:
    cut = rng.randrange(50_000, len(base))
    content = base[:cut] + rng.randbytes(rng.randrange(1, 200_000))
    print(store.put_sync(content), len(content), cut, flush=True)
"""


def _kill_after(root: Path, seed: int, objects: int) -> list[str]:
    """Run the writer until it reports ``objects`` stored, SIGKILL it, and return every line it printed."""
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(root), str(seed)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    lines, deadline = [], time.monotonic() + 300  # a hang guard, not a timing assertion
    while len(lines) < objects and time.monotonic() < deadline:
        lines.append(writer.stdout.readline())
    writer.send_signal(signal.SIGKILL)
    lines += writer.stdout.read().splitlines(keepends=True)
    writer.wait()
    assert writer.returncode == -signal.SIGKILL
    return [line for line in lines if line.endswith("\n")]  # a torn last line was never reported


@pytest.mark.slow
@pytest.mark.parametrize("objects", [1, 4, 12])
async def test_a_writer_killed_mid_write_leaves_a_clean_usable_store(tmp_path: Path, objects: int) -> None:
    root = tmp_path / "artifacts"
    reported = _kill_after(root, seed=objects, objects=objects)
    store = ArtifactStore(root)
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
    reported = _kill_after(root, seed=99, objects=3)
    store = ArtifactStore(root, StoreOptions(gc_grace=0))
    kept = [line.split()[0] for line in reported]
    store.add_root_provider(lambda: kept)
    store.gc()
    assert store.verify() == []
    assert {key.rsplit("/", 1)[-1] for key in store.backend.keys("packs")} == {
        f"{row}.pack" for row in _recorded_packs(store)
    }
    for artifact_id in kept:
        await store.get(artifact_id)


def _recorded_packs(store: ArtifactStore) -> set[str]:
    with store.db.session(readonly=True) as session:
        return set(session.scalars(select(PackRow.id)))
