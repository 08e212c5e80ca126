"""The store core: content addressing, chunking and dedup, inline small objects, packs, verified reads."""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pyfastcdc import FastCDC

from symphony.builtin_plugins.pit.artifacts import ArtifactCorruptError, ArtifactStore, StoreOptions
from symphony.builtin_plugins.pit.artifacts.chunking import Chunker
from symphony.hookspecs import ConfigurationError, DataError


def _random(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _flip_one_byte_of_a_pack(root: Path) -> None:
    pack = next((root / "packs").rglob("*.pack"))
    data = bytearray(pack.read_bytes())
    data[-100] ^= 0xFF  # in the body: the last chunk's bytes
    pack.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "size", [0, 1, 4096, 4097, 300_000], ids=["empty", "one-byte", "inline-limit", "chunked", "many-chunks"]
)
async def test_content_comes_back_as_stored_under_its_sha256(store: ArtifactStore, size: int) -> None:
    content = _random(size)
    artifact_id = await store.put(content)
    assert artifact_id == "sha256:" + hashlib.sha256(content).hexdigest()
    assert await store.get(artifact_id) == content
    assert b"".join([part async for part in store.open(artifact_id)]) == content


async def test_small_objects_live_inline_and_write_no_pack(store: ArtifactStore) -> None:
    await store.put(b"x" * 4096)
    assert store.stats().packs == 0
    assert not (store.root / "packs").exists()


async def test_chunks_of_one_object_share_a_pack_instead_of_a_file_each(store: ArtifactStore) -> None:
    await store.put(_random(2_000_000))
    stats = store.stats()
    assert stats.chunks > 50
    assert stats.packs == 1
    assert len(list((store.root / "packs").rglob("*.pack"))) == 1


async def test_an_edited_version_stores_only_the_chunks_around_the_edit(store: ArtifactStore) -> None:
    original = bytearray(_random(4_000_000))
    await store.put(bytes(original))
    first = store.stats().stored_bytes
    original[2_000_000:2_000_010] = b"0123456789"
    original[100:100] = b"an insertion shifts everything after it"
    await store.put(bytes(original))
    stats = store.stats()
    assert stats.logical_bytes == 8_000_039
    assert stats.stored_bytes - first < 200_000  # a few chunks, not a second copy
    assert stats.dedup_ratio > 1.9


async def test_storing_the_same_content_twice_stores_it_once(store: ArtifactStore) -> None:
    content = _random(1_000_000)
    assert await store.put(content) == await store.put(content)
    stats = store.stats()
    assert (stats.objects, stats.packs) == (1, 1)
    assert stats.stored_bytes < 1_100_000


async def test_a_file_and_an_async_stream_are_stored_like_bytes(store: ArtifactStore) -> None:
    content = _random(3_000_000, seed=7)

    async def blocks() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 100_000):
            yield content[start : start + 100_000]

    expected = "sha256:" + hashlib.sha256(content).hexdigest()
    assert await store.put(io.BytesIO(content)) == expected
    assert await store.put(blocks()) == expected
    assert store.stats().objects == 1


async def test_a_flipped_byte_in_a_pack_is_reported_as_corruption_never_returned(store: ArtifactStore) -> None:
    artifact_id = await store.put(_random(500_000))
    _flip_one_byte_of_a_pack(store.root)
    with pytest.raises(
        ArtifactCorruptError, match=r"chunk [0-9a-f]{64} at packs/.*offset \d+.*symphony artifacts verify"
    ):
        await store.get(artifact_id)
    with pytest.raises(ArtifactCorruptError):
        async for _ in store.open(artifact_id):
            pass


async def test_a_streaming_read_stops_at_the_damaged_chunk(store: ArtifactStore) -> None:
    artifact_id = await store.put(_random(500_000))
    _flip_one_byte_of_a_pack(store.root)
    received = 0
    with pytest.raises(ArtifactCorruptError):
        async for part in store.open(artifact_id):
            received += len(part)
    assert received < 500_000


async def test_a_deleted_pack_is_reported_as_corruption(store: ArtifactStore) -> None:
    artifact_id = await store.put(_random(100_000))
    next((store.root / "packs").rglob("*.pack")).unlink()
    with pytest.raises(ArtifactCorruptError, match="the pack is missing"):
        await store.get(artifact_id)


def test_chunk_sizes_out_of_order_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="min_chunk <= avg_chunk <= max_chunk"):
        StoreOptions.from_options({"min_chunk": 65536, "avg_chunk": 4096})


def test_an_unknown_option_names_its_key() -> None:
    with pytest.raises(ConfigurationError, match=r"\[components\.artifacts\.options\].*unknown field `chunk`"):
        StoreOptions.from_options({"chunk": 1})


def test_an_unwritable_store_directory_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(DataError, match="Cannot create the artifact store"):
        ArtifactStore(tmp_path / "file" / "artifacts")


_BIG = """
import hashlib, resource, sys
from pathlib import Path
from symphony.builtin_plugins.pit.artifacts import ArtifactStore

size, block = 200 * 1024 * 1024, 1024 * 1024
store = ArtifactStore(Path(sys.argv[1]))

def blocks():
    for index in range(size // block):
        yield hashlib.shake_256(index.to_bytes(8, "big")).digest(block)

artifact_id = store.put_sync(blocks())
digest, total = hashlib.sha256(), 0
for part in store.iter_sync(artifact_id):
    digest.update(part)
    total += len(part)
assert artifact_id == "sha256:" + digest.hexdigest() and total == size
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


@pytest.mark.slow
def test_a_200_mb_object_is_streamed_in_and_out_in_bounded_memory(tmp_path: Path) -> None:
    baseline = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource, symphony.builtin_plugins.pit.artifacts;"
            " print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_BIG), str(tmp_path / "artifacts")],
        capture_output=True,
        text=True,
        check=True,
    )
    grown = int(result.stdout) - int(baseline.stdout)
    assert grown < 80 * 1024 * 1024, f"a 200 MB put and get grew the peak memory by {grown / 2**20:.0f} MB"


@pytest.mark.parametrize("block", [7919, 65_536, 300_000, 1 << 20, 3_000_000])
def test_streamed_blocks_are_cut_where_the_whole_content_is_cut(block: int) -> None:
    """Cut points follow the content, not how it arrives, so a re-sent object dedups whatever its block size."""
    data = random.Random(block).randbytes(3_000_000)
    whole = [
        data[c.offset : c.offset + c.length]
        for c in FastCDC(avg_size=12_288, min_size=4096, max_size=65_536).cut_buf(data)
    ]
    blocks = [data[start : start + block] for start in range(0, len(data), block)]
    assert list(Chunker(4096, 12_288, 65_536).chunks(blocks)) == whole


def test_a_forked_child_stores_and_reads_after_its_parent_used_the_worker_threads(tmp_path: Path) -> None:
    """The hashing and pack-writing threads are started again in a child: a fork copies none of them."""
    options = StoreOptions(pack_size=1 << 20)  # several packs per put: written on the pack threads
    ArtifactStore(tmp_path, options).put_sync(random.Random(1).randbytes(6 << 20))
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if a put and a get of new content work
        try:
            child, content = ArtifactStore(tmp_path, options), random.Random(2).randbytes(6 << 20)
            os._exit(0 if child.get_sync(child.put_sync(content)) == content else 1)
        except BaseException:
            os._exit(2)
    deadline = time.monotonic() + 60
    while (waited := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if waited[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's put hung")
    assert os.waitstatus_to_exitcode(waited[1]) == 0
