"""The wasm runtime: cold start of a Python component from the compiled-code cache, and call overhead.

- ``cold_start``: ``WasmRuntime.load`` of the sample Python operator (an 18 MB
  componentize-py component bundling CPython) into a new runtime, with the compiled code
  on disk: stat, link, instantiate in a fresh store with fuel, epoch deadline, memory
  limit and WASI preopens. ``cold_start_cached`` is a runtime that has never seen the
  extension, in a process that has deserialized it before (runtimes share the engine and
  its deserialized programs: an extension started again, or by another runtime);
  ``cold_start_true`` is the first load in a fresh process, which also deserializes the
  artefact (mmap) on a new engine, timed inside that process. Against compiling the same
  component without the cache, in the same run (once: it takes seconds). Also load plus
  the first call, and the true cold start's two parts that are Wasmtime's: deserializing and
  instantiating (store, WASI view, linking, start functions, signature check), against the
  whole (the rest is the runtime's own bookkeeping: stat, side file, bindings).
- ``call``: one trivial invocation (``echo``) through ``WasmExtension.invoke_json`` (fuel
  refilled, deadline reset, stats counted) and through ``invoke`` (also JSON-encoding a
  dict and decoding the answer), against a raw Wasmtime call of the same component in the
  same run: ``wasmtime.component.Func.__call__`` on a plain store. Also against the bare
  direct C-API call the runtime makes (``_capi.FastInvoke``, without fuel, deadline or
  stats: the floor), for reference.

The component is built with componentize-py first if it is not in the build cache
(``$SYMPHONY_WASM_BUILD_CACHE``, default ``~/.cache/symphony/wasm-build``), which is said
on stderr. The garbage collector is off while timing.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import wasmtime
from wasmtime import component

from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.sandbox.wasm import WasmRuntime, build_python_component
from symphony.sandbox.wasm._capi import FastInvoke
from symphony.sandbox.wasm._component import ComponentBinding, ComponentLinker
from symphony.sandbox.wasm._host import HostBridge

__all__ = ["run_invoke", "run_load"]

GUEST = Path(__file__).resolve().parents[1] / (
    "sample_extensions/symphony-sample-wasm-operator/src/symphony_sample_wasm_operator/guest"
)
PAYLOAD = '{"text": "hello", "n": 1}'
COLD_GOAL = "wasm (Python component) cold start from the cache <= 3 ms"
CALL_GOAL = "wasm call <= 15 us"


def _allow(permission: object) -> None:
    return None


def _component() -> Path:
    cache = Path(os.environ.get("SYMPHONY_WASM_BUILD_CACHE") or Path.home() / ".cache" / "symphony" / "wasm-build")
    start = time.perf_counter()
    path = build_python_component(GUEST, "notes_operator", cache)
    if time.perf_counter() - start > 1:
        print(f"# sandbox_wasm: built the sample component with componentize-py into {path}", file=sys.stderr)
    return path


def _samples_us(call: Callable[[], object], count: int) -> list[float]:
    clock = time.perf_counter_ns
    samples = [0.0] * count
    with no_gc():
        for i in range(count):
            start = clock()
            call()
            samples[i] = (clock() - start) / 1000
    return samples


_TRUE_COLD = """
import sys, time
from pathlib import Path
from symphony.sandbox.wasm import WasmRuntime, WasmExtension
from symphony.sandbox.wasm._cache import CompiledCache
spent = {"deserialize": 0.0, "instantiate": 0.0}
def timed(cls, method, part):
    inner = getattr(cls, method)
    def step(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[part] += time.perf_counter() - start
    setattr(cls, method, step)
timed(CompiledCache, "_deserialize", "deserialize")
timed(WasmExtension, "_instantiate", "instantiate")
with WasmRuntime(Path(sys.argv[2])) as rt:
    start = time.perf_counter()
    ext = rt.load(Path(sys.argv[1]), name="op", permissions=lambda permission: None)
    elapsed = time.perf_counter() - start
    assert ext.loaded_from_cache
print(elapsed * 1000, spent["deserialize"] * 1000, spent["instantiate"] * 1000)
"""


def _true_cold_ms(path: Path, cache_dir: Path, rounds: int) -> tuple[float, float, float]:
    """p50s of the first cached load in a fresh process each (disk cache only), in ms: the load, and of it
    Wasmtime's deserialization and the instantiation (store, WASI view, linking, start functions)."""
    loads: list[tuple[float, ...]] = []
    for _ in range(rounds):
        done = subprocess.run(
            [sys.executable, "-c", _TRUE_COLD, str(path), str(cache_dir)], capture_output=True, text=True, check=True
        )
        loads.append(tuple(float(part) for part in done.stdout.strip().splitlines()[-1].split()))
    load, deserialize, instantiate = (statistics.median(column) for column in zip(*loads, strict=True))
    return load, deserialize, instantiate


def _cold_start(path: Path, cache_dir: Path, rounds: int) -> tuple[float, float, float]:
    """(compile without cache ms, cached load ms p50, cached load + first call ms p50)."""
    with WasmRuntime(cache_dir) as rt:
        start = time.perf_counter()
        rt.load(path, name="op", permissions=_allow)
        compiled_ms = (time.perf_counter() - start) * 1000
    loads, firsts = [], []
    for _ in range(rounds):
        with WasmRuntime(cache_dir) as rt:  # the engine exists before the extension is asked for
            with no_gc():
                start = time.perf_counter()
                ext = rt.load(path, name="op", permissions=_allow)
                loaded = time.perf_counter()
                ext.invoke_json("echo", PAYLOAD)
                done = time.perf_counter()
            assert ext.loaded_from_cache
            loads.append((loaded - start) * 1000)
            firsts.append((done - start) * 1000)
    return compiled_ms, statistics.median(loads), statistics.median(firsts)


def _calls(path: Path, cache_dir: Path, count: int, rounds: int) -> dict[str, float]:
    """p50 per-call µs of each way to call ``echo``, measured in alternating rounds."""
    with WasmRuntime(cache_dir) as rt:
        ext = rt.load(path, name="op", permissions=_allow)
        # The raw baseline: the same compiled component, a plain store, the public API.
        program = component.Component.deserialize_file(rt.engine, str(next(cache_dir.glob("*.cwasm"))))
        binding = ComponentBinding(ComponentLinker(rt.engine), program, HostBridge("raw", _allow, None, log_bytes=1024))
        store = wasmtime.Store(rt.engine)
        store.set_wasi(wasmtime.WasiConfig())
        store.set_fuel(10**15)
        store.set_epoch_deadline(10**9)
        instance = binding.instantiate(store)
        func = instance.func
        encoded_op, encoded_payload = b"echo", PAYLOAD.encode()
        bare = FastInvoke(func, store)
        value = {"text": "hello", "n": 1}
        ways: dict[str, Callable[[], object]] = {
            "runtime_json": lambda: ext.invoke_json("echo", PAYLOAD),
            "runtime_invoke": lambda: ext.invoke("echo", value),
            "raw": lambda: func(store, "echo", PAYLOAD),
            "capi": lambda: bare(encoded_op, encoded_payload),
        }
        assert ext.invoke_json("echo", PAYLOAD) == PAYLOAD == func(store, "echo", PAYLOAD).payload
        samples: dict[str, list[float]] = {name: [] for name in ways}
        for call in ways.values():
            _samples_us(call, 200)  # warm up
        for _ in range(rounds):
            for name, call in ways.items():
                samples[name] += _samples_us(call, count)
    return {name: percentile(values, 0.5) for name, values in samples.items()}


def run_load(quick: bool) -> list[Record]:
    """Cold start of the Python component from the compiled-code cache, beside compiling it."""
    path = _component()
    with tempfile.TemporaryDirectory(prefix="symphony-wasm-bench-") as tmp:
        compiled_ms, cached_ms, first_call_ms = _cold_start(path, Path(tmp), 10 if quick else 40)
        true_cold_ms, deserialize_ms, instantiate_ms = _true_cold_ms(path, Path(tmp), 5 if quick else 15)
    return [
        record(
            "ext_load.wasm.cold_start_cached", cached_ms, "ms", "compile without the cache", compiled_ms,
            seed_target="extension load <100 ms", goal=COLD_GOAL,
        ),
        record(
            "ext_load.wasm.cold_start_true", true_cold_ms, "ms", "compile without the cache", compiled_ms,
            seed_target="extension load <100 ms",
        ),
        record(
            "ext_load.wasm.cold_start_first_call", first_call_ms, "ms", "compile without the cache", compiled_ms,
            seed_target="extension load <100 ms",
        ),
        record(
            "ext_load.wasm.cold_start_true.breakdown.deserialize", deserialize_ms, "ms", "cold_start_true", true_cold_ms
        ),
        record(
            "ext_load.wasm.cold_start_true.breakdown.instantiate", instantiate_ms, "ms", "cold_start_true", true_cold_ms
        ),
    ]  # fmt: skip


def run_invoke(quick: bool) -> list[Record]:
    """Per-call cost of a trivial operation through the runtime, beside raw Wasmtime calls."""
    path = _component()
    # Calls do not depend on how the code was compiled: reuse compiled code across runs.
    compiled = Path(tempfile.gettempdir()) / "symphony-wasm-bench-compiled"
    p50 = _calls(path, compiled, 1_000 if quick else 5_000, 3 if quick else 6)
    return [
        record(
            "ext_invoke.wasm.call_p50", p50["runtime_json"], "us", "raw wasmtime-py Func call p50", p50["raw"],
            goal=CALL_GOAL,
        ),
        record(
            "ext_invoke.wasm.call_invoke_json_values_p50", p50["runtime_invoke"], "us",
            "raw wasmtime-py Func call p50", p50["raw"], goal=CALL_GOAL,
        ),
        record("ext_invoke.wasm.call_p50_vs_capi", p50["runtime_json"], "us", "bare C-API call p50", p50["capi"]),
    ]  # fmt: skip


if __name__ == "__main__":
    for item in run_load(quick="--quick" in sys.argv) + run_invoke(quick="--quick" in sys.argv):
        print(item)
