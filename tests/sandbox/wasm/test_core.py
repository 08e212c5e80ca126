"""Core modules: the hand-written WAT sample and the memory ABI, under the same limits."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from symphony.sandbox.wasm import WasmGuestError, WasmLimits, WasmLoadError, WasmRuntime, WasmTrapError

from .conftest import CORE_SAMPLE, GUESTS, AllowList, Services

PROXY = GUESTS / "proxy.wat"


def test_core_sample_counts_bytes_and_lines(runtime: WasmRuntime) -> None:
    ext = runtime.load(CORE_SAMPLE / "stats.wat", name="sample-wasm-core", permissions=AllowList())
    assert ext.kind == "module"
    assert ext.invoke_json("stats", "one\ntwo\nthree") == '{"bytes":13,"lines":2}'
    assert ext.invoke("stats", "héllo") == {"bytes": 8, "lines": 0}


def test_core_sample_logs_through_the_host(runtime: WasmRuntime, caplog: pytest.LogCaptureFixture) -> None:
    ext = runtime.load(CORE_SAMPLE / "stats.wat", name="core", permissions=AllowList())
    with caplog.at_level(logging.INFO, logger="symphony.extensions.core"):
        ext.invoke("stats", "x")
    assert [r.getMessage() for r in caplog.records] == ["stats from a core module"]


def test_core_sample_unknown_operation_is_a_guest_error(runtime: WasmRuntime) -> None:
    ext = runtime.load(CORE_SAMPLE / "stats.wat", name="core", permissions=AllowList())
    with pytest.raises(WasmGuestError, match="unknown operation; this module offers stats"):
        ext.invoke("average", [1, 2])
    assert ext.invoke("stats", "") == {"bytes": 2, "lines": 0}


def test_core_sample_reuses_its_memory_across_many_calls(runtime: WasmRuntime) -> None:
    ext = runtime.load(
        CORE_SAMPLE / "stats.wat", name="core", permissions=AllowList(), limits=WasmLimits(memory_bytes=128 * 1024)
    )
    big = "y" * 20_000
    for _ in range(50):
        assert ext.invoke("stats", big)["bytes"] == 20_002
    assert ext.stats.traps == 0


def test_core_host_call_to_a_declared_host_is_performed(
    runtime: WasmRuntime, loopback: str, services: Services
) -> None:
    ext = runtime.load(PROXY, name="proxy", permissions=AllowList(hosts=(loopback,)), services=services)
    response = ext.invoke("http-request", {"url": f"http://{loopback}/"})
    assert (response["status"], response["body"]) == (200, "hello from loopback")


def test_core_host_call_to_an_undeclared_host_is_denied(
    runtime: WasmRuntime, loopback: str, services: Services
) -> None:
    ext = runtime.load(PROXY, name="proxy", permissions=AllowList(), services=services)
    with pytest.raises(WasmGuestError, match=f"may not use network:{loopback}"):
        ext.invoke("http-request", {"url": f"http://{loopback}/"})
    assert ext.stats.denials == 1


def test_core_model_call_is_checked(runtime: WasmRuntime, services: Services) -> None:
    ext = runtime.load(PROXY, name="proxy", permissions=AllowList(models=("m1",)), services=services)
    assert ext.invoke("model-call", {"model": "m1", "input": "1"}) == '{"model": "m1", "echo": 1}'
    with pytest.raises(WasmGuestError, match="may not use model:m2"):
        ext.invoke("model-call", {"model": "m2", "input": "1"})


def test_core_host_call_with_bad_arguments_fails_with_the_reason(runtime: WasmRuntime) -> None:
    ext = runtime.load(PROXY, name="proxy", permissions=AllowList())
    with pytest.raises(WasmGuestError, match="bad arguments to host function 'model-call'"):
        ext.invoke("model-call", {"model": 1})
    with pytest.raises(WasmGuestError, match="no host function 'exec'"):
        ext.invoke("exec", {})


def test_core_spin_runs_out_of_fuel_and_the_next_call_works(runtime: WasmRuntime) -> None:
    ext = runtime.load(PROXY, name="proxy", permissions=AllowList(), limits=WasmLimits(fuel=1_000_000))
    with pytest.raises(WasmTrapError) as caught:
        ext.invoke("spin")
    assert caught.value.reason == "fuel"
    assert ext.invoke("log", {"message": "back"}) is None
    assert ext.stats.instantiations == 2


def test_core_spin_with_unlimited_fuel_hits_the_deadline(runtime: WasmRuntime) -> None:
    ext = runtime.load(PROXY, name="proxy", permissions=AllowList(), limits=WasmLimits(fuel=10**15, timeout=0.1))
    with pytest.raises(WasmTrapError, match=r"wall-clock timeout of 0\.1 s") as caught:
        ext.invoke("spin")
    assert caught.value.reason == "deadline"


def test_core_memory_growth_stops_at_the_limit(runtime: WasmRuntime) -> None:
    ext = runtime.load(PROXY, name="proxy", permissions=AllowList(), limits=WasmLimits(memory_bytes=4 * 1024 * 1024))
    with pytest.raises(WasmTrapError, match="hit its memory limit of 4 MiB") as caught:
        ext.invoke("grow")
    assert caught.value.reason == "memory"
    assert ext.invoke("log", {"message": "fine"}) is None


def test_a_module_without_the_abi_exports_is_rejected_at_load(runtime: WasmRuntime) -> None:
    with pytest.raises(WasmLoadError, match="lacks the exports symphony_alloc, symphony_invoke"):
        runtime.load(b'(module (memory (export "memory") 1))', name="bare", permissions=AllowList())


def test_a_module_importing_unknown_functions_is_rejected_at_load(runtime: WasmRuntime) -> None:
    wat = b"""(module (import "env" "system" (func (param i32)))
      (memory (export "memory") 1)
      (func (export "symphony_alloc") (param i32) (result i32) i32.const 0)
      (func (export "symphony_invoke") (param i32 i32 i32 i32 i32) (result i32) i32.const 0))"""
    with pytest.raises(WasmLoadError, match=r"could not be instantiated: .*env.*system"):
        runtime.load(wat, name="sneaky", permissions=AllowList())


def test_bytes_that_are_not_wasm_are_rejected(runtime: WasmRuntime, tmp_path: Path) -> None:
    with pytest.raises(WasmLoadError, match="neither wasm nor valid WAT"):
        runtime.load(b"#!/bin/sh\nrm -rf /\n", name="script", permissions=AllowList())
    with pytest.raises(WasmLoadError, match="no file"):
        runtime.load(tmp_path / "missing.wasm", name="ghost", permissions=AllowList())


def test_an_unexplained_trap_names_its_cause(runtime: WasmRuntime) -> None:
    wat = b"""(module (memory (export "memory") 1)
      (func (export "symphony_alloc") (param i32) (result i32) i32.const 0)
      (func (export "symphony_invoke") (param i32 i32 i32 i32 i32) (result i32) unreachable))"""
    ext = runtime.load(wat, name="broken", permissions=AllowList())
    with pytest.raises(
        WasmTrapError, match=r"trapped \(wasm trap: wasm `unreachable` instruction executed\)"
    ) as caught:
        ext.invoke("anything")
    assert caught.value.reason == "trap"


def test_a_c_module_compiled_with_zig_follows_the_same_abi(runtime: WasmRuntime, tmp_path: Path) -> None:
    wasm = tmp_path / "echo.wasm"
    done = subprocess.run(
        [sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-nostdlib", "-O2", "-Wl,--no-entry",
         "-o", str(wasm), str(GUESTS / "echo.c")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ext = runtime.load(wasm, name="c-echo", permissions=AllowList())
    assert ext.invoke("echo", {"from": "C"}) == {"from": "C"}
    with pytest.raises(WasmGuestError, match="this module offers echo"):
        ext.invoke("reverse", "x")


ABI_STUB = """(module (import "symphony" "call" (func $call (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "symphony_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "symphony_invoke") (param i32 i32 i32 i32 i32) (result i32) {body}))"""


def test_a_result_pointing_outside_guest_memory_is_stopped(runtime: WasmRuntime) -> None:
    body = (
        "(i32.store (local.get 4) (i32.const 65000)) (i32.store offset=4 (local.get 4) (i32.const 100000)) i32.const 0"
    )
    ext = runtime.load(ABI_STUB.format(body=body).encode(), name="liar", permissions=AllowList())
    with pytest.raises(WasmTrapError, match="outside its 65536-byte memory") as caught:
        ext.invoke("anything")
    assert caught.value.reason == "trap"
    assert ext.stats.traps == 1


def test_a_host_call_with_arguments_outside_guest_memory_is_stopped(runtime: WasmRuntime) -> None:
    body = "(call $call (i32.const 0) (i32.const 3) (i32.const 70000) (i32.const 10) (i32.const 0))"
    ext = runtime.load(ABI_STUB.format(body=body).encode(), name="prober", permissions=AllowList())
    with pytest.raises(WasmTrapError, match="outside its 65536-byte memory"):
        ext.invoke("anything")


def test_output_that_is_not_json_is_the_guests_error(runtime: WasmRuntime) -> None:
    body = "(i32.store (local.get 4) (i32.const 0)) (i32.store offset=4 (local.get 4) (i32.const 3)) i32.const 0"
    ext = runtime.load(ABI_STUB.format(body=body).encode(), name="garbled", permissions=AllowList())
    with pytest.raises(WasmGuestError, match="returned output that is not JSON"):
        ext.invoke("anything")


@pytest.mark.parametrize(
    ("url", "asked"),
    [
        ("https://api.example.com/v1", "api.example.com"),
        ("http://api.example.com:8080/", "api.example.com:8080"),
        ("https://api.example.com:443/", "api.example.com"),
        ("http://[::1]:9000/", "[::1]:9000"),
    ],
)
def test_the_network_permission_asked_for_is_the_host_and_a_non_default_port(
    runtime: WasmRuntime, url: str, asked: str
) -> None:
    checker = AllowList()
    ext = runtime.load(PROXY, name="proxy", permissions=checker)
    with pytest.raises(WasmGuestError, match="may not use"):
        ext.invoke("http-request", {"url": url})
    assert [p.hosts for p in checker.asked] == [(asked,)]  # type: ignore[union-attr]
