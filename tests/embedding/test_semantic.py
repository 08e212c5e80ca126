"""Semantic search of a real artifact store, with vectors from the pooled model, and its command."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from symphony.builtin_plugins.pit.artifacts.semantic import search
from symphony.builtin_plugins.pit.artifacts.store import ArtifactStore
from symphony.hookspecs import ValidationError

from .conftest import MakeHost

SYMPHONY = Path(sys.executable).parent / "symphony"
CAT = b"Our cat likes to sleep on the warm windowsill all afternoon."
REPORT = b"The quarterly financial report shows revenue grew by twelve percent."
BREAD = b"To bake sourdough, feed the starter, knead the dough and let it rise overnight."


def _index(store: ArtifactStore) -> dict[str, object]:
    (path,) = (store.root / "semantic").iterdir()
    saved: dict[str, object] = msgspec.msgpack.decode(path.read_bytes())
    return saved


async def test_a_query_finds_the_related_artifact_that_shares_no_word_with_it(make_host: MakeHost) -> None:
    async with make_host() as host:
        store = host.port("artifact_store")
        ids = [await store.store(text) for text in (REPORT, CAT, BREAD)]
        hits = await search(store, host.port("pool_manager"), "kitten napping in the sun", limit=3)
    assert hits[0].artifact_id == ids[1]
    assert hits[0].score > hits[1].score + 0.2


async def test_a_second_search_embeds_only_the_artifacts_stored_since(make_host: MakeHost) -> None:
    async with make_host() as host:
        store, pool = host.port("artifact_store"), host.port("pool_manager")
        await store.store(REPORT)
        await search(store, pool, "money", limit=1)
        before = _index(store)
        bread = await store.store(BREAD)
        hits = await search(store, pool, "baking", limit=1)
        after = _index(store)
    assert hits[0].artifact_id == bread
    assert after["ids"] == [*before["ids"], bread]  # type: ignore[misc]
    assert after["vectors"][: len(before["vectors"])] == before["vectors"]  # type: ignore[index, arg-type]


async def test_binary_artifacts_are_recorded_as_textless_and_never_returned(make_host: MakeHost) -> None:
    async with make_host() as host:
        store = host.port("artifact_store")
        binary = await store.store(b"\x00\x01\x02 not text")
        text = await store.store(CAT)
        hits = await search(store, host.port("pool_manager"), "a sleeping cat", limit=5)
        index = _index(store)
    assert [hit.artifact_id for hit in hits] == [text]
    assert index["textless"] == [binary]


async def test_artifacts_collected_from_the_store_leave_the_index(make_host: MakeHost) -> None:
    async with make_host({"artifacts": {"options": {"gc_grace": 0}}}) as host:
        store = host.port("artifact_store")
        await store.store(CAT)  # unnamed, referred to by nothing: gc takes it
        await search(store, host.port("pool_manager"), "cat", limit=1)
        store.gc()
        hits = await search(store, host.port("pool_manager"), "cat", limit=1)
        index = _index(store)
    assert hits == []
    assert index["ids"] == []


async def test_a_damaged_index_file_is_rebuilt_from_the_store(make_host: MakeHost) -> None:
    async with make_host() as host:
        store = host.port("artifact_store")
        cat = await store.store(CAT)
        await search(store, host.port("pool_manager"), "cat", limit=1)
        (path,) = (store.root / "semantic").iterdir()
        path.write_bytes(b"\x93garbage")
        hits = await search(store, host.port("pool_manager"), "cat", limit=1)
    assert [hit.artifact_id for hit in hits] == [cat]
    assert _index(store)["ids"] == [cat]


async def test_a_store_encrypted_at_rest_refuses_semantic_search_and_writes_no_vectors(
    make_host: MakeHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYMPHONY_ARTIFACTS_KEY", base64.b64encode(bytes(range(32))).decode())
    async with make_host({"artifacts": {"options": {"encryption": "aes-256-gcm"}}}) as host:
        store = host.port("artifact_store")
        await store.store(CAT)
        with pytest.raises(ValidationError, match="encrypted at rest"):
            await search(store, host.port("pool_manager"), "cat")
    assert not (store.root / "semantic").exists()


@pytest.mark.parametrize(("query", "problem"), [("   ", "some words"), ("x" * 10_001, "at most 10000 characters")])
async def test_an_empty_or_huge_query_is_refused(make_host: MakeHost, query: str, problem: str) -> None:
    async with make_host() as host:
        with pytest.raises(ValidationError, match=problem):
            await search(host.port("artifact_store"), host.port("pool_manager"), query)


def _symphony(tmp_path: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYMPHONY_DATA_DIR": str(tmp_path / "data"), "SYMPHONY_CACHE_DIR": str(cache)}
    return subprocess.run(
        [str(SYMPHONY), *args], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_the_command_prints_the_closest_artifact_first_as_json(tmp_path: Path, model_cache: Path) -> None:
    for name, text in (("report.txt", REPORT), ("cat.txt", CAT), ("bread.txt", BREAD)):
        (tmp_path / name).write_bytes(text)
        assert _symphony(tmp_path, model_cache, "artifacts", "put", name).returncode == 0
    done = _symphony(tmp_path, model_cache, "artifacts", "search", "--semantic", "how to make bread", "--json")
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert hits[0]["name"] == "bread.txt"
    assert sorted(hit["name"] for hit in hits) == ["bread.txt", "cat.txt", "report.txt"]


@pytest.mark.slow
def test_the_command_refuses_semantic_with_a_filter(tmp_path: Path, model_cache: Path) -> None:
    done = _symphony(tmp_path, model_cache, "artifacts", "search", "--semantic", "bread", "--filter", "tag=x")
    assert done.returncode == 2
    assert "--semantic takes no --filter" in done.stderr


async def test_a_limit_below_one_is_refused(make_host: MakeHost) -> None:
    async with make_host() as host:
        with pytest.raises(ValidationError, match="at least 1 hit"):
            await search(host.port("artifact_store"), host.port("pool_manager"), "cat", limit=0)
