"""A component passing the host malformed values (hand-written, as no toolchain would) traps, alone.

Wasmtime lifts every argument of a host function before Python sees it: a string that is
not UTF-8 or lies outside the guest's memory, or an enum value out of range, ends the
invocation as a WasmTrapError, and the next call starts a fresh instance.
"""

from __future__ import annotations

from typing import Final

import pytest

from symphony.sandbox.wasm import WasmRuntime, WasmTrapError

from .conftest import GUESTS, AllowList

HOSTILE: Final = GUESTS / "hostile_component.wat"


@pytest.mark.parametrize(
    ("operation", "cause"),
    [
        ("utf8", "invalid utf-8 sequence"),
        ("beyond", "string pointer/length out of bounds of memory"),
        ("huge", "string pointer/length out of bounds of memory"),
        ("level", "discriminant 9 out of range"),
    ],
)
def test_a_malformed_host_call_argument_is_the_guests_trap(runtime: WasmRuntime, operation: str, cause: str) -> None:
    ext = runtime.load(HOSTILE, name="malformed", permissions=AllowList())
    with pytest.raises(WasmTrapError, match=cause) as caught:
        ext.invoke(operation)
    assert caught.value.reason == "trap"
    assert ext.invoke("ok") == {}
    assert ext.stats.instantiations == 2
