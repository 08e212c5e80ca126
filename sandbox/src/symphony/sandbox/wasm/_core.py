"""Core-module guests: the same ``invoke`` contract over a small memory ABI.

A core module has no strings, only integers and a linear memory, so the contract is
spelled out as in the component model's canonical ABI (documented in
``docs/wasm-extensions.md``):

exports
    ``memory``; ``symphony_alloc(size: i32) -> i32`` returning a guest address the host
    may write ``size`` bytes to; ``symphony_invoke(op_ptr, op_len, in_ptr, in_len,
    ret_ptr: i32) -> i32`` returning 0 for ok and 1 for an error, after writing the
    result's address and length (two little-endian i32) at ``ret_ptr``. The result is
    UTF-8: the output JSON, or the error message. Optionally ``symphony_reset()``, which
    the host calls before each invocation's allocations: everything allocated for the
    previous invocation may then be reused (a bump allocator simply rewinds).
imports (optional)
    ``symphony.call(name_ptr, name_len, arg_ptr, arg_len, ret_ptr: i32) -> i32``: the
    host function ``name`` (``log``, ``http-request``, ``model-call``) with JSON
    arguments; the host allocates the JSON result with ``symphony_alloc``, writes its
    address and length at ``ret_ptr`` and returns 0 (ok), 1 (denied) or 2 (failed, the
    result is then the message). ``wasi_snapshot_preview1`` with the same restrictions
    as for components.
"""

from __future__ import annotations

import struct
import threading
from typing import Any

import msgspec
import wasmtime

from ._capi import StoreMeter
from ._errors import ContractError, GuestFault
from ._host import HostBridge, HostCallRefused, HttpRequest

__all__ = ["CoreBinding", "CoreInstance"]

_STATUS = {"denied": 1, "failed": 2}


class _LogArgs(msgspec.Struct):
    message: str
    level: str = "info"


class _HttpArgs(msgspec.Struct):
    url: str
    method: str = "GET"
    headers: list[tuple[str, str]] = []
    body: str = ""


class _ModelArgs(msgspec.Struct):
    model: str
    input: str


def _exports(caller: wasmtime.Caller) -> tuple[wasmtime.Memory, wasmtime.Func]:
    memory = caller.get("memory")
    alloc = caller.get("symphony_alloc")
    if not isinstance(memory, wasmtime.Memory) or not isinstance(alloc, wasmtime.Func):
        raise wasmtime.WasmtimeError("symphony.call needs the exports `memory` and `symphony_alloc`")
    return memory, alloc


def _read(store: wasmtime.Caller | wasmtime.Store, memory: wasmtime.Memory, address: int, length: int) -> bytes:
    size = memory.data_len(store)
    if address < 0 or length < 0 or address + length > size:
        raise GuestFault(
            f"the module pointed the host at bytes {address}..{address + length} outside its {size}-byte memory"
        )
    return bytes(memory.read(store, address, address + length))


def _put(store: wasmtime.Caller | wasmtime.Store, memory: wasmtime.Memory, alloc: wasmtime.Func, data: bytes) -> int:
    address = alloc(store, len(data))
    if not isinstance(address, int):
        raise GuestFault("symphony_alloc must return an i32 address")
    _write(store, memory, address, data)
    return address


def _write(store: wasmtime.Caller | wasmtime.Store, memory: wasmtime.Memory, address: int, data: bytes) -> None:
    size = memory.data_len(store)
    if address < 0 or address + len(data) > size:
        raise GuestFault(
            f"the module gave the host bytes {address}..{address + len(data)} outside its {size}-byte memory to write"
        )
    memory.write(store, data, address)


def _dispatch(bridge: HostBridge, name: str, raw: bytes) -> Any:
    try:
        if name == "log":
            log = msgspec.json.decode(raw, type=_LogArgs)
            bridge.log(log.level, log.message)
            return None
        if name == "http-request":
            http = msgspec.json.decode(raw, type=_HttpArgs)
            response = bridge.http_request(
                HttpRequest(method=http.method, url=http.url, headers=tuple(http.headers), body=http.body.encode())
            )
            return {
                "status": response.status,
                "headers": response.headers,
                "body": response.body.decode("utf-8", errors="replace"),
            }
        if name == "model-call":
            model = msgspec.json.decode(raw, type=_ModelArgs)
            return bridge.model_call(model.model, model.input)
    except msgspec.ValidationError as exc:
        raise HostCallRefused("failed", f"bad arguments to host function {name!r}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise HostCallRefused("failed", f"arguments to host function {name!r} are not JSON: {exc}") from None
    raise HostCallRefused("failed", f"no host function {name!r}; there are log, http-request and model-call")


def _serve(bridge: HostBridge, caller: wasmtime.Caller, pointers: tuple[int, int, int, int, int]) -> int:
    name_ptr, name_len, arg_ptr, arg_len, ret_ptr = pointers
    memory, alloc = _exports(caller)
    name = _read(caller, memory, name_ptr, name_len).decode("utf-8", errors="replace")
    raw = _read(caller, memory, arg_ptr, arg_len)
    try:
        status, payload = 0, msgspec.json.encode(_dispatch(bridge, name, raw))
    except HostCallRefused as exc:
        status, payload = _STATUS[exc.kind], exc.message.encode()
    address = _put(caller, memory, alloc, payload)
    _read(caller, memory, ret_ptr, 8)  # bounds check before the result's address is written
    _write(caller, memory, ret_ptr, struct.pack("<II", address, len(payload)))
    return status


def _link(engine: wasmtime.Engine, bridge: HostBridge) -> wasmtime.Linker:
    serving = threading.local()

    def call(caller: wasmtime.Caller, name_ptr: int, name_len: int, arg_ptr: int, arg_len: int, ret_ptr: int) -> int:  # noqa: PLR0917 (the wasm ABI)
        # The host calls symphony_alloc while serving; a guest calling back from there would
        # nest host calls as deep as its stack allows, so it is a fault, like any host error:
        # every failure here is a trap the guest cannot step over, never an exception that
        # escapes the runtime as something else.
        if getattr(serving, "active", False):
            raise GuestFault("symphony.call was called again from inside symphony_alloc")
        serving.active = True
        try:
            return _serve(bridge, caller, (name_ptr, name_len, arg_ptr, arg_len, ret_ptr))
        except (GuestFault, wasmtime.Trap, wasmtime.WasmtimeError):
            raise
        except Exception as exc:
            raise GuestFault(f"host function symphony.call failed ({type(exc).__name__}: {exc})") from None
        finally:
            serving.active = False

    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    # A FuncType belongs to the engine it is first used with: build one per linker.
    i32 = wasmtime.ValType.i32()
    linker.define_func("symphony", "call", wasmtime.FuncType([i32] * 5, [i32]), call, access_caller=True)
    return linker


class CoreBinding:
    """One extension's linker around a compiled core module."""

    def __init__(self, engine: wasmtime.Engine, program: wasmtime.Module, bridge: HostBridge) -> None:
        self.program = program
        self.linker = _link(engine, bridge)
        names = {export.name for export in program.exports}
        missing = sorted({"memory", "symphony_alloc", "symphony_invoke"} - names)
        if missing:
            raise ContractError(
                f"the module lacks the exports {', '.join(missing)} of the core-module ABI "
                "(see docs/wasm-extensions.md, 'Core modules')"
            )

    def instantiate(self, store: wasmtime.Store) -> CoreInstance:
        instance = self.linker.instantiate(store, self.program)
        exports = instance.exports(store)
        memory, alloc, invoke = exports["memory"], exports["symphony_alloc"], exports["symphony_invoke"]
        if not (
            isinstance(memory, wasmtime.Memory)
            and isinstance(alloc, wasmtime.Func)
            and isinstance(invoke, wasmtime.Func)
        ):
            raise ContractError("`memory` must be a memory and `symphony_alloc`/`symphony_invoke` functions")
        reset = exports["symphony_reset"] if "symphony_reset" in set(exports) else None
        return CoreInstance(store, memory, alloc, invoke, reset if isinstance(reset, wasmtime.Func) else None)


class CoreInstance:
    def __init__(
        self,
        store: wasmtime.Store,
        memory: wasmtime.Memory,
        alloc: wasmtime.Func,
        invoke: wasmtime.Func,
        reset: wasmtime.Func | None,
    ) -> None:
        self.store = store
        self.meter = StoreMeter(store)
        self.memory = memory
        self.alloc = alloc
        self.func = invoke
        self.reset = reset

    def memory_bytes(self) -> int | None:
        return self.memory.data_len(self.store)

    def invoke(self, operation: str, input: str) -> tuple[bool, str]:
        store, memory = self.store, self.memory
        op, data = operation.encode(), input.encode()
        if self.reset is not None:
            self.reset(store)
        op_ptr = _put(store, memory, self.alloc, op)
        in_ptr = _put(store, memory, self.alloc, data)
        ret_ptr = _put(store, memory, self.alloc, bytes(8))
        status = self.func(store, op_ptr, len(op), in_ptr, len(data), ret_ptr)
        address, length = struct.unpack("<II", _read(store, memory, ret_ptr, 8))
        text = _read(store, memory, address, length).decode("utf-8", errors="replace")
        return status == 0, text
