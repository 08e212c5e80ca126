"""What the runtime refuses to load, and the limits it refuses to accept."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.hookspecs import ExtensionError
from symphony.hookspecs.wit import HOST_INTERFACE, WIT_FILE, WORLD
from symphony.sandbox.wasm import (
    Preopen,
    WasmExtensionError,
    WasmGuestError,
    WasmLimits,
    WasmLoadError,
    WasmRuntime,
    WasmTrapError,
)

from .conftest import AllowList

#: A component whose ``invoke`` takes and returns a u32, not the contract's strings.
ODD_INVOKE = b"""(component
  (core module $m (func (export "f") (param i32) (result i32) local.get 0))
  (core instance $i (instantiate $m))
  (func $f (param "x" u32) (result u32) (canon lift (core func $i "f")))
  (export "invoke" (func $f)))"""


def test_wasm_errors_are_extension_errors_with_their_own_categories() -> None:
    for cls in (WasmLoadError, WasmTrapError, WasmGuestError):
        assert issubclass(cls, WasmExtensionError)
        assert issubclass(cls, ExtensionError)
    assert WasmTrapError.category == "extension.wasm.trap"


def test_the_wit_world_ships_with_the_sdk() -> None:
    text = WIT_FILE.read_text()
    assert "package symphony:extension@0.1.0;" in text
    assert f"world {WORLD} {{" in text
    assert "export invoke: func(operation: string, input: string) -> result<string, string>;" in text
    assert HOST_INTERFACE == "symphony:extension/host@0.1.0"


def test_a_component_without_invoke_is_rejected(runtime: WasmRuntime) -> None:
    with pytest.raises(WasmLoadError, match="exports no function `invoke`; build it for the `extension` world"):
        runtime.load(b"(component)", name="empty", permissions=AllowList())


def test_a_component_built_for_another_wit_version_is_rejected(runtime: WasmRuntime) -> None:
    wat = b"""(component
      (import "symphony:extension/host@0.2.0" (instance (export "log" (func (param "message" string))))))"""
    with pytest.raises(WasmLoadError, match=r"could not be instantiated: .*symphony:extension/host@0.2.0"):
        runtime.load(wat, name="future", permissions=AllowList())


def test_a_component_whose_invoke_has_another_signature_is_rejected(runtime: WasmRuntime) -> None:
    with pytest.raises(WasmLoadError, match="has another signature; expected invoke"):
        runtime.load(ODD_INVOKE, name="odd", permissions=AllowList())


def test_a_component_rejected_for_its_invoke_is_rejected_again_on_every_load(tmp_path: Path) -> None:
    for _ in range(2):  # the second runtime takes the program the first deserialized, never a verdict
        with WasmRuntime(tmp_path) as rt, pytest.raises(WasmLoadError, match="has another signature"):
            rt.load(ODD_INVOKE, name="odd", permissions=AllowList())


def test_unknown_wasm_version_is_rejected(runtime: WasmRuntime) -> None:
    with pytest.raises(WasmLoadError, match="unknown WebAssembly version"):
        runtime.load(b"\0asm\x02\x00\x00\x00", name="v2", permissions=AllowList())


def test_a_closed_runtime_refuses_to_load(tmp_path: Path) -> None:
    rt = WasmRuntime(tmp_path)
    rt.close()
    with pytest.raises(RuntimeError, match="after close"):
        rt.load(b"(module)", name="late", permissions=AllowList())


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"fuel": 0}, "WasmLimits.fuel must be positive"),
        ({"memory_bytes": -1}, "WasmLimits.memory_bytes must be positive"),
        ({"timeout": 0}, "WasmLimits.timeout must be positive seconds"),
    ],
)
def test_nonsense_limits_are_refused(limits: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WasmLimits(**limits)  # type: ignore[arg-type]


def test_a_preopen_must_be_an_existing_directory_and_an_absolute_guest_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a directory"):
        Preopen.read_only(tmp_path / "absent", "/data")
    with pytest.raises(ValueError, match="must be absolute"):
        Preopen.read_only(tmp_path, "data")


def test_a_memory_limit_below_the_modules_minimum_fails_at_load(runtime: WasmRuntime) -> None:
    wat = b"""(module (memory (export "memory") 4)
      (func (export "symphony_alloc") (param i32) (result i32) i32.const 0)
      (func (export "symphony_invoke") (param i32 i32 i32 i32 i32) (result i32) i32.const 0))"""
    with pytest.raises(WasmLoadError, match="raise \\[resources\\] memory_limit"):
        runtime.load(wat, name="greedy", permissions=AllowList(), limits=WasmLimits(memory_bytes=65536))


def test_input_that_is_not_json_serialisable_is_a_type_error(runtime: WasmRuntime) -> None:
    wat = b"""(module (memory (export "memory") 1)
      (func (export "symphony_alloc") (param i32) (result i32) i32.const 0)
      (func (export "symphony_invoke") (param i32 i32 i32 i32 i32) (result i32) i32.const 0))"""
    ext = runtime.load(wat, name="any", permissions=AllowList())
    with pytest.raises(TypeError, match=r"input to any\.op is not JSON-serialisable"):
        ext.invoke("op", object())
