"""The compiled-code cache: a second load deserializes instead of compiling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import wasmtime

from symphony.sandbox.wasm import WasmRuntime
from symphony.sandbox.wasm._cache import CompiledCache
from symphony.sandbox.wasm._engine import ENGINE_FINGERPRINT, new_engine

from .conftest import CORE_SAMPLE, AllowList

STATS = CORE_SAMPLE / "stats.wat"


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.cwasm"))


def test_first_load_compiles_and_writes_one_entry(tmp_path: Path) -> None:
    with WasmRuntime(tmp_path) as rt:
        ext = rt.load(STATS, name="core", permissions=AllowList())
        assert not ext.loaded_from_cache
        assert (rt.cache_stats.hits, rt.cache_stats.misses) == (0, 1)
    assert len(entries(tmp_path)) == 1


def test_second_runtime_loads_from_the_disk_cache(tmp_path: Path) -> None:
    with WasmRuntime(tmp_path) as first:
        first.load(STATS, name="core", permissions=AllowList())
    (entry,) = entries(tmp_path)
    written = entry.stat().st_mtime_ns
    with WasmRuntime(tmp_path) as second:
        ext = second.load(STATS, name="core", permissions=AllowList())
        assert ext.loaded_from_cache
        assert (second.cache_stats.hits, second.cache_stats.misses) == (1, 0)
        assert ext.invoke("stats", "a") == {"bytes": 3, "lines": 0}
    assert entry.stat().st_mtime_ns == written, "a hit must not rewrite the entry"


def test_loading_the_same_program_twice_in_one_runtime_compiles_once(tmp_path: Path) -> None:
    with WasmRuntime(tmp_path) as rt:
        rt.load(STATS, name="a", permissions=AllowList())
        again = rt.load(STATS, name="b", permissions=AllowList())
        assert again.loaded_from_cache
        assert rt.cache_stats.misses == 1


def test_the_same_bytes_by_path_or_by_value_share_an_entry(tmp_path: Path) -> None:
    wasm = wasmtime.wat2wasm(STATS.read_text())
    path = tmp_path / "stats.wasm"
    path.write_bytes(wasm)
    with WasmRuntime(tmp_path / "cache") as rt:
        rt.load(path, name="by-path", permissions=AllowList())
    with WasmRuntime(tmp_path / "cache") as rt:
        assert rt.load(bytes(wasm), name="by-value", permissions=AllowList()).loaded_from_cache
    assert len(entries(tmp_path / "cache")) == 1


def test_a_changed_file_misses(tmp_path: Path) -> None:
    path = tmp_path / "stats.wat"
    path.write_text(STATS.read_text())
    with WasmRuntime(tmp_path / "cache") as rt:
        rt.load(path, name="core", permissions=AllowList())
    path.write_text(STATS.read_text().replace("stats from a core module", "stats from a new module!"))
    with WasmRuntime(tmp_path / "cache") as rt:
        assert not rt.load(path, name="core", permissions=AllowList()).loaded_from_cache
    assert len(entries(tmp_path / "cache")) == 2


def test_a_corrupt_entry_is_rejected_and_rebuilt(tmp_path: Path) -> None:
    with WasmRuntime(tmp_path) as rt:
        rt.load(STATS, name="core", permissions=AllowList())
    (entry,) = entries(tmp_path)
    entry.write_bytes(b"not a serialized module")
    with WasmRuntime(tmp_path) as rt:
        ext = rt.load(STATS, name="core", permissions=AllowList())
        assert not ext.loaded_from_cache
        assert (rt.cache_stats.rejected, rt.cache_stats.misses) == (1, 1)
        assert ext.invoke("stats", "") == {"bytes": 2, "lines": 0}
    with WasmRuntime(tmp_path) as rt:
        assert rt.load(STATS, name="core", permissions=AllowList()).loaded_from_cache


def test_the_key_depends_on_the_engine_fingerprint_and_the_kind(tmp_path: Path) -> None:
    cache = CompiledCache(tmp_path, new_engine())
    assert "wasmtime=" in ENGINE_FINGERPRINT
    assert "epoch_interruption=1" in ENGINE_FINGERPRINT
    assert cache.key(b"\0asm", "module") != cache.key(b"\0asm", "component")
    assert cache.key(b"\0asm1", "module") != cache.key(b"\0asm2", "module")


def _stats_wasm(path: Path, text: str = STATS.read_text()) -> Path:
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


def test_a_file_this_process_has_keyed_is_not_read_again_by_another_runtimes_cache(tmp_path: Path) -> None:
    path = _stats_wasm(tmp_path / "stats.wasm")
    key, kind, read = CompiledCache(tmp_path / "cache", new_engine()).key_for_file(
        path, path.stat(), lambda _: "module"
    )
    assert read == path.read_bytes()
    for side_file in (tmp_path / "cache").glob("*.path"):
        side_file.unlink()  # so only this process's memory can spare the read
    again = CompiledCache(tmp_path / "cache", new_engine()).key_for_file(path, path.stat(), lambda _: "module")
    assert again == (key, kind, None)


def test_a_rewritten_file_is_read_and_keyed_again_by_another_runtimes_cache(tmp_path: Path) -> None:
    path = _stats_wasm(tmp_path / "stats.wasm")
    key, _, _ = CompiledCache(tmp_path / "cache", new_engine()).key_for_file(path, path.stat(), lambda _: "module")
    _stats_wasm(path, STATS.read_text().replace("stats from a core module", "stats from a new module!"))
    new_key, _, read = CompiledCache(tmp_path / "cache", new_engine()).key_for_file(
        path, path.stat(), lambda _: "module"
    )
    assert read == path.read_bytes()
    assert new_key != key


def test_entries_are_written_atomically(tmp_path: Path) -> None:
    with WasmRuntime(tmp_path) as rt:
        rt.load(STATS, name="core", permissions=AllowList())
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


@pytest.mark.slow
def test_a_python_component_is_compiled_once_then_loaded_from_the_cache(
    tmp_path: Path, operator_component: Path
) -> None:
    with WasmRuntime(tmp_path) as rt:
        assert not rt.load(operator_component, name="op", permissions=AllowList()).loaded_from_cache
    with WasmRuntime(tmp_path) as rt:
        ext = rt.load(operator_component, name="op", permissions=AllowList())
        assert ext.loaded_from_cache
        assert rt.cache_stats.hits == 1
        assert ext.invoke("echo", [1]) == [1]
