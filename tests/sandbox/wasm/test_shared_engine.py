"""Runtimes in one process share an engine, its epoch ticker and its deserialized programs, never a store."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from symphony.sandbox.wasm import WasmLimits, WasmRuntime, WasmTrapError
from symphony.sandbox.wasm._cache import CompiledCache, Program, ProgramMemory
from symphony.sandbox.wasm._engine import new_engine

from .conftest import CORE_SAMPLE, GUESTS, AllowList

STATS = CORE_SAMPLE / "stats.wat"
PROXY = GUESTS / "proxy.wat"


def epoch_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "symphony-wasm-epoch")


def load_stats(cache: CompiledCache) -> Program:
    wasm = STATS.read_bytes()
    key = cache.key(wasm, "module")
    return cache.load(key, None, "module", source=STATS)[0]


def test_a_cache_sharing_memory_takes_the_program_another_deserialized(tmp_path: Path) -> None:
    engine, memory = new_engine(), ProgramMemory()
    first = load_stats(CompiledCache(tmp_path, engine, memory))
    second = CompiledCache(tmp_path, engine, memory)
    assert load_stats(second) is first
    assert (second.stats.hits, second.stats.misses) == (1, 0)


def test_a_rewritten_entry_is_read_again_not_taken_from_memory(tmp_path: Path) -> None:
    engine, memory = new_engine(), ProgramMemory()
    first = load_stats(CompiledCache(tmp_path, engine, memory))
    (entry,) = tmp_path.glob("*.cwasm")
    entry.write_bytes(b"not a serialized module")
    second = CompiledCache(tmp_path, engine, memory)
    assert load_stats(second) is not first
    assert (second.stats.rejected, second.stats.misses) == (1, 1)


def test_memory_keeps_only_the_most_recently_used_programs(tmp_path: Path) -> None:
    engine = new_engine()
    memory = ProgramMemory(capacity=1)
    cache = CompiledCache(tmp_path, engine, memory)
    first = load_stats(cache)
    memory.put((str(tmp_path / "other.cwasm"), 1, 1, 1), first)
    assert load_stats(cache) is not first, "the evicted program is deserialized again"


def test_runtimes_with_the_same_epoch_tick_share_the_engine(tmp_path: Path) -> None:
    with WasmRuntime(tmp_path) as first, WasmRuntime(tmp_path) as second:
        assert first.engine is second.engine
        a = first.load(STATS, name="a", permissions=AllowList())
        b = second.load(STATS, name="b", permissions=AllowList())
        assert b.loaded_from_cache
        assert a.invoke("stats", "x") == b.invoke("stats", "x") == {"bytes": 3, "lines": 0}


def test_closing_one_runtime_leaves_the_others_deadline_enforced(tmp_path: Path) -> None:
    with WasmRuntime(tmp_path) as staying:
        WasmRuntime(tmp_path).close()
        ext = staying.load(PROXY, name="proxy", permissions=AllowList(), limits=WasmLimits(fuel=10**15, timeout=0.1))
        with pytest.raises(WasmTrapError) as caught:
            ext.invoke("spin")
        assert caught.value.reason == "deadline"


def test_the_epoch_thread_stops_when_the_last_runtime_of_its_engine_closes(tmp_path: Path) -> None:
    before = epoch_threads()
    first, second = WasmRuntime(tmp_path, epoch_tick=0.0137), WasmRuntime(tmp_path, epoch_tick=0.0137)
    assert epoch_threads() == before + 1
    first.close()
    assert epoch_threads() == before + 1
    second.close()
    second.close()  # closing twice releases the engine once
    assert epoch_threads() == before
