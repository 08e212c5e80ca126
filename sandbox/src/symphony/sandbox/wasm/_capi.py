"""The invocation hot path in Wasmtime's C API, without wasmtime-py's per-call wrappers.

wasmtime-py converts every argument through generic wrappers and allocates ctypes
objects per call; for a call into a guest that itself takes a few microseconds that
doubled its cost. Here each instance binds, once, the addresses the C functions need
(the store's context, the function, an argument array and a result slot that are
reused), so a call is a few foreign calls on plain integers: refill fuel, reset the
deadline, call, read the result and the fuel left, free the result. Arguments are borrowed, not copied:
Wasmtime reads them during the call and the caller keeps the bytes alive meanwhile.

It relies on two private attributes of wasmtime-py (``Func._func``, ``Store._context``),
which is why the dependency is pinned to one major version. The struct layouts are taken
from wasmtime-py's own bindings, so a layout change there moves the offsets here too.
"""

from __future__ import annotations

from ctypes import (
    POINTER,
    Structure,
    addressof,
    c_bool,
    c_char_p,
    c_size_t,
    c_uint8,
    c_uint64,
    c_void_p,
    cast,
    sizeof,
    string_at,
)
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime import component
from wasmtime.component._enter import maybe_raise_last_exn

__all__ = ["FastInvoke", "StoreMeter", "context_address"]

_VAL = ffi.wasmtime_component_val_t


def _offset(struct: Any, field: str) -> int:
    return int(getattr(struct, field).offset)


_OF = _offset(_VAL, "of")
_SIZE = _OF + _offset(ffi.wasm_byte_vec_t, "size")
_DATA = _OF + _offset(ffi.wasm_byte_vec_t, "data")
_IS_OK = _OF + _offset(ffi.wasmtime_component_valresult_t, "is_ok")
_OK_VAL = _OF + _offset(ffi.wasmtime_component_valresult_t, "val")
_STRING: int = ffi.WASMTIME_COMPONENT_STRING.value


def _pad(name: str, start: int, end: int) -> list[tuple[str, Any]]:
    return [(name, c_uint8 * (end - start))] if end > start else []


class _StringArg(Structure):
    """A ``string`` value the host passes: the bytes object's own buffer, borrowed for the call."""

    _fields_ = [
        ("kind", c_uint8),
        *_pad("_p1", 1, _SIZE),
        ("size", c_size_t),
        *_pad("_p2", _SIZE + sizeof(c_size_t), _DATA),
        ("data", c_char_p),
        *_pad("_p3", _DATA + sizeof(c_char_p), sizeof(_VAL)),
    ]


class _ResultSlot(Structure):
    """Where Wasmtime writes a ``result<string, string>``: the case, and the payload's address."""

    _fields_ = [
        ("kind", c_uint8),
        *_pad("_p1", 1, _IS_OK),
        ("is_ok", c_bool),
        *_pad("_p2", _IS_OK + 1, _OK_VAL),
        ("val", c_void_p),
        *_pad("_p3", _OK_VAL + sizeof(c_void_p), sizeof(_VAL)),
    ]


class _StringView(Structure):
    """A ``string`` value Wasmtime allocated: read its length and address."""

    _fields_ = [
        ("kind", c_uint8),
        *_pad("_p1", 1, _SIZE),
        ("size", c_size_t),
        *_pad("_p2", _SIZE + sizeof(c_size_t), _DATA),
        ("data", c_void_p),
    ]


assert sizeof(_StringArg) == sizeof(_ResultSlot) == sizeof(_VAL), "wasmtime-py's value layout changed"
_Args = _StringArg * 2


def _private(name: str, restype: Any, *argtypes: Any) -> Any:
    """Our own prototype of a C function: plain integers in, no shared wrapper's argtypes touched."""
    function = ffi.dll._FuncPtr((name, ffi.dll))
    function.restype = restype
    function.argtypes = argtypes
    return function


_set_fuel = _private("wasmtime_context_set_fuel", c_void_p, c_void_p, c_uint64)
_get_fuel = _private("wasmtime_context_get_fuel", c_void_p, c_void_p, c_void_p)
_set_deadline = _private("wasmtime_context_set_epoch_deadline", None, c_void_p, c_uint64)
_func_call = _private(
    "wasmtime_component_func_call", c_void_p, c_void_p, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t
)
_val_delete = _private("wasmtime_component_val_delete", None, c_void_p)
_ERROR_PTR = POINTER(ffi.wasmtime_error_t)


def _raise(error: int) -> None:
    """Raise the WasmtimeError behind a non-null error pointer (chained to a host function's exception)."""
    trap = wasmtime.WasmtimeError._from_ptr(cast(c_void_p(error), _ERROR_PTR))
    try:
        maybe_raise_last_exn()
    except Exception as host_exc:
        raise trap from host_exc
    raise trap


def context_address(store: wasmtime.Store | wasmtime.StoreContext) -> int:
    """The address of a store's context: the same for the store and for a host call made in it."""
    address: int = cast(store._context(), c_void_p).value or 0
    return address


class StoreMeter:
    """Fuel and deadline of one store, set and read through the C API."""

    def __init__(self, store: wasmtime.Store) -> None:
        self._store = store  # keeps the context alive
        self._context = context_address(store)
        self._left = c_uint64()
        self._left_address = addressof(self._left)

    def arm(self, fuel: int, deadline_ticks: int) -> None:
        """Give the next call ``fuel`` units and a deadline ``deadline_ticks`` epochs from now."""
        error = _set_fuel(self._context, fuel)
        if error:
            _raise(error)
        _set_deadline(self._context, deadline_ticks)

    def fuel_left(self) -> int:
        error = _get_fuel(self._context, self._left_address)
        if error:
            _raise(error)
        return self._left.value


class FastInvoke:
    """``invoke(operation, input) -> result<string, string>`` of one instance, called directly."""

    def __init__(self, func: component.Func, store: wasmtime.Store) -> None:
        self._keep = (func, store)
        self._func = addressof(func._func)
        self._context = context_address(store)
        self._args = _Args()
        self._args[0].kind = self._args[1].kind = _STRING
        self._args_address = addressof(self._args)
        self._operation, self._input = self._args[0], self._args[1]
        self._result = _ResultSlot()
        self._result_address = addressof(self._result)

    def __call__(self, operation: bytes, input: bytes) -> tuple[bool, str]:
        """``(True, output)`` or ``(False, message)``; raises WasmtimeError on a trap."""
        first, second = self._operation, self._input
        first.size, first.data = len(operation), operation
        second.size, second.data = len(input), input
        try:
            error = _func_call(self._func, self._context, self._args_address, 2, self._result_address, 1)
        finally:
            first.data = second.data = None  # the bytes are not kept past the call
        if error:
            _raise(error)
        result = self._result
        try:
            view = _StringView.from_address(result.val)
            return result.is_ok, string_at(view.data, view.size).decode()
        finally:
            _val_delete(self._result_address)
            result.kind = 0  # a bool again: Wasmtime drops the slot's old value before writing the next result
