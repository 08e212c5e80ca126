"""Component-model guests: link the WIT ``host`` interface, call the exported ``invoke``.

The call goes through Wasmtime's C API directly (:class:`._capi.FastInvoke`) rather than
``wasmtime.component.Func.__call__``, which re-reads the function's type and converts
every value through generic Python wrappers on each call (about 40 µs here, against
about 8 µs for the same call done directly). The signature is checked once, at
instantiation, so the direct path only ever sees ``(string, string) ->
result<string, string>``.
"""

from __future__ import annotations

import weakref
from typing import Any, TypeAlias

import wasmtime
from wasmtime import StoreContext, component

from symphony.hookspecs.wit import HOST_INTERFACE, PACKAGE

from ._capi import FastInvoke, StoreMeter, context_address
from ._errors import ContractError
from ._host import HostBridge, HostCallRefused, HttpRequest

__all__ = ["ComponentBinding", "ComponentInstance", "ComponentLinker"]


def _host_error(exc: HostCallRefused) -> component.Variant:
    return component.Variant(exc.kind, exc.message)


def _record(**fields: Any) -> component.Record:
    record = component.Record()
    record.__dict__.update(fields)
    return record


#: Store context address -> the bridge of the extension instantiated in that store (a fresh
#: one-element tuple per store, so a freed store forgets only its own entry).
_Bridges: TypeAlias = dict[int, tuple[HostBridge]]


def _link(engine: wasmtime.Engine, bridges: _Bridges) -> component.Linker:
    """A linker whose host functions serve the bridge registered for the calling store."""

    def log(store: StoreContext, level: str, message: str) -> None:
        bridges[context_address(store)][0].log(level, message)

    def http_request(store: StoreContext, request: Any) -> component.Record | component.Variant:
        try:
            response = bridges[context_address(store)][0].http_request(
                HttpRequest(
                    method=request.method,
                    url=request.url,
                    headers=tuple((str(k), str(v)) for k, v in request.headers),
                    body=bytes(request.body),
                )
            )
        except HostCallRefused as exc:
            return _host_error(exc)
        return _record(status=response.status, headers=list(response.headers), body=bytes(response.body))

    def model_call(store: StoreContext, model: str, input: str) -> str | component.Variant:
        try:
            return bridges[context_address(store)][0].model_call(model, input)
        except HostCallRefused as exc:
            return _host_error(exc)

    linker = component.Linker(engine)
    linker.add_wasip2()
    with linker.root() as root, root.add_instance(HOST_INTERFACE) as host:
        host.add_func("log", log)
        host.add_func("http-request", http_request)
        host.add_func("model-call", model_call)
    return linker


class ComponentLinker:
    """The engine's one component linker, shared by every extension (building one costs ~0.2 ms of a load).

    A host function finds the calling extension's bridge by the store it is called in:
    each store is registered at instantiation and forgotten when it is freed.
    """

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._bridges: _Bridges = {}
        self._linker = _link(engine, self._bridges)
        #: Each program's checked ``invoke`` export: a program's exports never change, so a
        #: start after its first neither looks the name up nor reads the type (~0.05 ms).
        self._invoke: weakref.WeakKeyDictionary[component.Component, component.ExportIndex] = (
            weakref.WeakKeyDictionary()
        )

    def instantiate(
        self, store: wasmtime.Store, program: component.Component, bridge: HostBridge
    ) -> component.Instance:
        address = context_address(store)
        entry = (bridge,)
        self._bridges[address] = entry
        weakref.finalize(store, _forget, self._bridges, address, entry)
        return self._linker.instantiate(store, program)

    def invoke_func(
        self, store: wasmtime.Store, program: component.Component, instance: component.Instance
    ) -> component.Func:
        """The instance's ``invoke``, its signature checked on the program's first instance.

        :raises ContractError: the component has no ``invoke`` of the contract's signature.
        """
        index = self._invoke.get(program)
        if index is not None:
            func = instance.get_func(store, index)
            assert func is not None, "a checked export index names a function in every instance"
            return func
        index = program.get_export_index("invoke")
        func = instance.get_func(store, index) if index is not None else None
        if index is None or func is None:
            raise ContractError(
                f"the component exports no function `invoke`; build it for the `extension` world of {PACKAGE}"
            )
        _check_signature(func, store)
        self._invoke[program] = index
        return func


def _forget(bridges: _Bridges, address: int, entry: tuple[HostBridge]) -> None:
    """Drop a freed store's entry, unless a newer store at the same address has replaced it.

    wasmtime-py frees the store (releasing the GIL) before this runs, so another thread may
    already have registered a new store at the same address.
    """
    if bridges.get(address) is entry:
        del bridges[address]


def _check_signature(func: component.Func, store: wasmtime.Store) -> None:
    expected = f"invoke(operation: string, input: string) -> result<string, string> of {PACKAGE}"
    with func.type(store) as fty:
        params = fty.params
        result = fty.result
        ok = (
            len(params) == 2
            and all(isinstance(ty, component.String) for _, ty in params)
            and isinstance(result, component.ResultType)
            and isinstance(result.ok, component.String)
            and isinstance(result.err, component.String)
        )
    if not ok:
        raise ContractError(f"the export `invoke` has another signature; expected {expected}")


class ComponentBinding:
    """One extension's compiled component and bridge on the shared linker; makes instances on demand."""

    def __init__(self, linker: ComponentLinker, program: component.Component, bridge: HostBridge) -> None:
        self.program = program
        self.bridge = bridge
        self._linker = linker

    def instantiate(self, store: wasmtime.Store) -> ComponentInstance:
        instance = self._linker.instantiate(store, self.program, self.bridge)
        return ComponentInstance(store, self._linker.invoke_func(store, self.program, instance))


class ComponentInstance:
    def __init__(self, store: wasmtime.Store, func: component.Func) -> None:
        self.store = store
        self.func = func
        self.meter = StoreMeter(store)
        self._call = FastInvoke(func, store)

    def memory_bytes(self) -> int | None:
        return None  # a component's memories are not exported to the host

    def invoke(self, operation: str, input: str) -> tuple[bool, str]:
        """``(True, output)`` or ``(False, message)``; raises WasmtimeError on a trap."""
        return self._call(operation.encode(), input.encode())
