"""Every way a hostile guest can misuse the host or its limits ends in one ExtensionError.

A host function's failure is a trap the guest cannot step over, or an error code it can
read; it never leaves the runtime as another exception. Limits (fuel, deadline, memory,
stack, tables, memories) stop a guest with a clear error at load or invocation, and the
next call gets a fresh instance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest

from symphony.sandbox.wasm import WasmGuestError, WasmLimits, WasmLoadError, WasmRuntime, WasmTrapError

from .conftest import GUESTS, AllowList
from .fuzz_host_calls import Guest

PROXY: Final = GUESTS / "proxy.wat"
LOG: Final = b'{"message": "hello"}'
ABI: Final = """(module {declarations}
  (memory (export "memory") 1)
  (func (export "symphony_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "symphony_invoke") (param i32 i32 i32 i32 i32) (result i32) {body}))"""


def guest(allocator: str, address: int = 0) -> bytes:
    return Guest(name=b"log", args=LOG, pointers=None, allocator=allocator, address=address, calls=1).wat().encode()


def test_an_allocation_past_the_end_of_guest_memory_is_a_trap(runtime: WasmRuntime) -> None:
    ext = runtime.load(guest("fixed", 65530), name="overflowing", permissions=AllowList())
    with pytest.raises(WasmTrapError, match=r"bytes 65530\.\.\d+ outside its 65536-byte memory") as caught:
        ext.invoke("op")
    assert caught.value.reason == "trap"


def test_a_negative_allocation_address_is_a_trap(runtime: WasmRuntime) -> None:
    ext = runtime.load(guest("fixed", -8), name="negative", permissions=AllowList())
    with pytest.raises(WasmTrapError, match="outside its 65536-byte memory"):
        ext.invoke("op")


def test_calling_the_host_again_from_inside_the_allocator_is_a_trap(runtime: WasmRuntime) -> None:
    ext = runtime.load(guest("reenter"), name="reentrant", permissions=AllowList())
    with pytest.raises(WasmTrapError, match=r"symphony\.call was called again from inside symphony_alloc"):
        ext.invoke("op")


def test_the_host_serves_again_after_a_refused_reentry(runtime: WasmRuntime) -> None:
    ext = runtime.load(guest("reenter"), name="reentrant", permissions=AllowList())
    with pytest.raises(WasmTrapError):
        ext.invoke("op")
    honest = runtime.load(guest("honest"), name="honest", permissions=AllowList())
    assert honest.invoke("op") == {}


@pytest.mark.parametrize("url", ["http://[::1", "http://]x/"])
def test_a_malformed_url_is_a_failed_host_call_the_guest_can_read(runtime: WasmRuntime, url: str) -> None:
    ext = runtime.load(PROXY, name="proxy", permissions=AllowList(hosts=("*",)))
    with pytest.raises(WasmGuestError, match="is not a valid URL"):
        ext.invoke("http-request", {"url": url})


def test_unbounded_recursion_is_a_clear_trap_and_the_next_call_works(runtime: WasmRuntime) -> None:
    declarations = "(func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))"
    body = "(call $down (i32.const 0))"
    wat = ABI.format(declarations=declarations, body=body).encode()
    ext = runtime.load(wat, name="deep", permissions=AllowList(), limits=WasmLimits(fuel=10**12))
    for _ in range(2):
        with pytest.raises(WasmTrapError, match="call stack exhausted") as caught:
            ext.invoke("op")
        assert caught.value.reason == "trap"
    assert ext.stats.instantiations == 2


def test_a_table_larger_than_the_limit_fails_at_load(runtime: WasmRuntime) -> None:
    wat = ABI.format(declarations="(table 100000000 funcref)", body="i32.const 0").encode()
    with pytest.raises(WasmLoadError, match=r"could not be instantiated: .*table"):
        runtime.load(wat, name="tabular", permissions=AllowList())


def test_a_table_stops_growing_at_the_limit(runtime: WasmRuntime) -> None:
    declarations = "(table $t 1 funcref)"
    # table.grow answers -1 past the limit; the module then traps, so refusing to grow is observable.
    grow = "(table.grow $t (ref.null func) (i32.const 1000))"
    body = f"(if (i32.eq {grow} (i32.const -1)) (then unreachable)) i32.const 1"
    wat = ABI.format(declarations=declarations, body=body).encode()
    ext = runtime.load(wat, name="growing", permissions=AllowList(), limits=WasmLimits(table_elements=500))
    with pytest.raises(WasmTrapError, match="unreachable"):
        ext.invoke("op")


def test_more_memories_than_a_store_allows_fail_at_load(runtime: WasmRuntime) -> None:
    wat = ABI.format(declarations="(memory $a 1) (memory $b 1)", body="i32.const 0").encode()
    with pytest.raises(WasmLoadError, match=r"could not be instantiated: .*memor"):
        runtime.load(wat, name="hoarder", permissions=AllowList())


def test_closing_the_runtime_waits_until_wasmtime_released_the_output_streams(tmp_path: Path) -> None:
    with WasmRuntime(tmp_path) as runtime:
        ext = runtime.load(guest("honest"), name="quiet", permissions=AllowList())
        ext.invoke("op")
        assert ext.output.held == 2  # stdout and stderr of the live store
    assert ext.output.held == 0
