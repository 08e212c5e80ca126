"""The wasm runtime: load an extension once, invoke it many times, each call bounded.

One :class:`WasmRuntime` per host owns the Wasmtime engine, the compiled-code cache and
the epoch ticker. :meth:`WasmRuntime.load` gives a :class:`WasmExtension`: a compiled
program linked to that extension's permission check and services, plus the current
instance in its own store. Every invocation refills fuel and resets the deadline; a trap
discards store and instance, and the next invocation instantiates afresh (about a
millisecond), so one bad input never poisons later calls.

Every runtime still open when the interpreter exits is closed by an ``atexit`` hook,
which drops every store while Python can still serve Wasmtime's threads (see
:mod:`._wasi`): a store left to the collector during finalization aborts the process.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import os
import stat
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec
import wasmtime
from wasmtime import component

from ._cache import CacheStats, CompiledCache, Kind, Program
from ._capi import StoreMeter
from ._component import ComponentBinding
from ._core import CoreBinding
from ._errors import ContractError, GuestFault, WasmGuestError, WasmLoadError, WasmTrapError
from ._host import HostBridge, HostServices, PermissionCheck
from ._limits import MAX_INSTANCES, MAX_MEMORIES, MAX_TABLES, Preopen, WasmLimits
from ._shared import shared_engine
from ._traps import trap_error
from ._wasi import OutputCapture, wasi_config

__all__ = ["ExtensionStats", "WasmExtension", "WasmRuntime"]

_log = logging.getLogger(__name__)
#: How long closing a runtime waits for Wasmtime to release the stores' output callbacks.
_RELEASE_TIMEOUT = 5.0

#: What a guest's failure surfaces as: components raise WasmtimeError, core modules Trap, and
#: a core module breaking the memory ABI GuestFault (re-raised by wasmtime-py from a host call).
_TRAPS = (wasmtime.WasmtimeError, wasmtime.Trap, GuestFault)
_COMPONENT_LAYER = b"\x0d\x00\x01\x00"
_CORE_VERSION = b"\x01\x00\x00\x00"


class _Instance(Protocol):
    store: wasmtime.Store
    meter: StoreMeter

    def invoke(self, operation: str, input: str) -> tuple[bool, str]: ...

    def memory_bytes(self) -> int | None:
        """The guest's linear memory size, where the host can see it (core modules)."""


class _Binding(Protocol):
    def instantiate(self, store: wasmtime.Store) -> _Instance: ...


@dataclass
class ExtensionStats:
    """What one extension has done since it was loaded (for ``symphony ext ps``)."""

    invocations: int = 0
    #: Invocations that ended in the guest's own error result.
    failures: int = 0
    traps: int = 0
    #: Host-function requests the permission check refused.
    denials: int = 0
    host_calls: int = 0
    fuel_used: int = 0
    last_fuel: int = 0
    instantiations: int = 0
    traps_by_reason: dict[str, int] = field(default_factory=dict)


def _kind_of(wasm: bytes, name: str) -> Kind:
    if len(wasm) < 8 or wasm[:4] != b"\0asm":
        raise WasmLoadError(
            f"Wasm extension {name!r} is not WebAssembly (no \\0asm header); give a .wasm component or core "
            "module, or WAT text",
            extension=name,
        )
    if wasm[4:8] == _COMPONENT_LAYER:
        return "component"
    if wasm[4:8] == _CORE_VERSION:
        return "module"
    raise WasmLoadError(
        f"Wasm extension {name!r} has an unknown WebAssembly version {wasm[4:8].hex()}; rebuild it with a current "
        "toolchain",
        extension=name,
    )


class WasmRuntime:
    """The host's Wasmtime: an engine, a compiled-code cache, an epoch ticker.

    The engine, its ticker and its deserialized programs are the process's, shared with
    every runtime of the same ``epoch_tick`` (see :mod:`._shared`); stores, instances and
    their limits are each extension's own.

    Thread-safe: extensions may be loaded and invoked from several threads; each
    extension serialises its own invocations.
    """

    def __init__(self, cache_dir: str | Path, *, epoch_tick: float = 0.01) -> None:
        self._shared = shared_engine(epoch_tick)
        self.engine = self._shared.engine
        self.cache = CompiledCache(Path(cache_dir), self.engine, self._shared.programs)
        self.ticker = self._shared.ticker
        self._programs: dict[str, Program] = {}
        self._extensions: weakref.WeakSet[WasmExtension] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False
        _OPEN.add(self)
        # The ticker starts with the runtime, not on an extension's load (a thread's start
        # waits for the thread to run: milliseconds on a busy machine).
        self._shared.acquire()

    @property
    def cache_stats(self) -> CacheStats:
        return self.cache.stats

    def load(
        self,
        wasm: str | Path | bytes,
        *,
        name: str,
        permissions: PermissionCheck,
        services: HostServices | None = None,
        preopens: Sequence[Preopen] = (),
        environment: Mapping[str, str] | None = None,
        limits: WasmLimits | None = None,
    ) -> WasmExtension:
        """Compile (or fetch from the cache) and instantiate one extension.

        :param wasm: a path to a ``.wasm`` component or core module (or ``.wat`` text), or
            the bytes of one.
        :param name: the extension's name, used in errors, logs and host-function checks.
        :param permissions: called before every network or model request with the
            :data:`~symphony.hookspecs.Permission` it needs; raises PermissionDeniedError to deny.
        :param services: performs the requests ``permissions`` allowed.
        :param preopens: the only directories the guest can see.
        :param environment: the guest's whole environment (its configuration); the host's is never passed.
        :raises WasmLoadError: not wasm, not the Symphony contract, or it cannot be instantiated.
        """
        if self._closed:
            raise RuntimeError("WasmRuntime.load called after close(); create a new runtime")
        program, kind, from_cache = self._program(wasm, name)
        bridge = HostBridge(name, permissions, services, log_bytes=(limits or WasmLimits()).log_bytes)
        try:
            binding: _Binding = (
                ComponentBinding(self._shared.linker, program, bridge)
                if isinstance(program, component.Component)
                else CoreBinding(self.engine, program, bridge)
            )
        except ContractError as exc:
            raise WasmLoadError(
                f"Wasm extension {name!r} does not follow the contract: {exc}", extension=name
            ) from None
        extension = WasmExtension(
            self,
            name=name,
            kind=kind,
            binding=binding,
            bridge=bridge,
            preopens=tuple(preopens),
            environment=dict(environment or {}),
            limits=limits or WasmLimits(),
            loaded_from_cache=from_cache,
        )
        self._extensions.add(extension)
        extension.activate()
        return extension

    def _program(self, wasm: str | Path | bytes, name: str) -> tuple[Program, Kind, bool]:
        source: Path | None = None
        data: bytes | None
        found: os.stat_result | None = None
        if isinstance(wasm, bytes):
            data = wasm
        else:
            source = Path(wasm)
            with contextlib.suppress(OSError):
                found = source.stat()
            if found is None or not stat.S_ISREG(found.st_mode):
                raise WasmLoadError(f"Wasm extension {name!r}: no file {source}; build it first", extension=name)
            data = source.read_bytes() if source.suffix == ".wat" else None
        if data is not None and not data.startswith(b"\0asm"):
            try:
                data = bytes(wasmtime.wat2wasm(data.decode("utf-8", errors="replace")))
            except wasmtime.WasmtimeError as exc:
                raise WasmLoadError(
                    f"Wasm extension {name!r} is neither wasm nor valid WAT: {exc}", extension=name
                ) from None
        with self._lock:
            if data is not None:
                kind = _kind_of(data, name)
                key = self.cache.key(data, kind)
            else:
                assert source is not None and found is not None
                key, kind, data = self.cache.key_for_file(source, found, lambda head: _kind_of(head, name))
            if key in self._programs:
                return self._programs[key], kind, True
            try:
                program, from_cache = self.cache.load(key, data, kind, source=source)
            except wasmtime.WasmtimeError as exc:
                raise WasmLoadError(f"Wasm extension {name!r} failed to compile: {exc}", extension=name) from None
            self._programs[key] = program
            return program, kind, from_cache

    def close(self) -> None:
        """Close its extensions (dropping their stores), release the engine's ticker, forget compiled programs.

        Returns once Wasmtime has released the stores' output callbacks (or after
        :data:`_RELEASE_TIMEOUT`). The disk cache stays.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        extensions = list(self._extensions)
        for extension in extensions:
            extension.close()
        self._shared.release()
        self._programs.clear()
        _OPEN.discard(self)
        gc.collect()  # stores in reference cycles go now, not during interpreter shutdown
        for extension in extensions:
            if not extension.output.wait_released(_RELEASE_TIMEOUT):
                _log.warning("Wasmtime still holds the output streams of wasm extension %r", extension.name)

    def __enter__(self) -> WasmRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class WasmExtension:
    """A loaded extension; :meth:`invoke` runs one operation under its limits."""

    def __init__(
        self,
        runtime: WasmRuntime,
        *,
        name: str,
        kind: Kind,
        binding: _Binding,
        bridge: HostBridge,
        preopens: tuple[Preopen, ...],
        environment: dict[str, str],
        limits: WasmLimits,
        loaded_from_cache: bool,
    ) -> None:
        self.runtime = runtime
        self.name = name
        self.kind = kind
        self.limits = limits
        #: Whether the compiled code came from the cache (disk or this runtime's memory).
        self.loaded_from_cache = loaded_from_cache
        self.stats = ExtensionStats()
        self.output = OutputCapture(limits.output_bytes)
        self._binding = binding
        self._bridge = bridge
        self._preopens = preopens
        self._environment = environment
        self._deadline_ticks = runtime.ticker.ticks_for(limits.timeout)
        self._instance: _Instance | None = None
        self._lock = threading.Lock()
        self._closed = False

    def activate(self) -> None:
        """Make sure an instance is ready (the runtime does this at load and after a trap)."""
        with self._lock:
            self._ensure_instance()

    def invoke(self, operation: str, input: Any = None) -> Any:
        """Run ``operation`` with ``input`` (anything JSON-serialisable); return the decoded output.

        :raises WasmGuestError: the guest returned an error result.
        :raises WasmTrapError: the guest was stopped (fuel, deadline, memory, crash).
        """
        try:
            text = msgspec.json.encode(input).decode()
        except (TypeError, msgspec.EncodeError) as exc:
            raise TypeError(f"input to {self.name}.{operation} is not JSON-serialisable: {exc}") from None
        output = self.invoke_json(operation, text)
        try:
            return msgspec.json.decode(output)
        except msgspec.DecodeError as exc:
            raise WasmGuestError(
                f"Wasm extension {self.name!r} returned output that is not JSON from {operation!r}: {exc}",
                extension=self.name,
            ) from None

    def invoke_json(self, operation: str, input: str) -> str:
        """:meth:`invoke` without the JSON encoding: text in, text out."""
        with self._lock:
            instance = self._instance or self._ensure_instance()
            stats = self.stats
            stats.invocations += 1
            self.output.reset()
            fuel = self.limits.fuel
            meter = instance.meter
            meter.arm(fuel, self._deadline_ticks)
            trapped: WasmTrapError | None = None
            try:
                ok, text = instance.invoke(operation, input)
            except _TRAPS as exc:
                trapped = self._trapped(exc, operation)
            finally:
                self._account()
            if trapped is not None:
                # The discarded store sits in a reference cycle; left to the collector, it may be
                # freed during interpreter shutdown, where Wasmtime aborts the process (SIGABRT).
                del instance, meter
                gc.collect()
                raise trapped
            used = fuel - meter.fuel_left()
            stats.last_fuel = used
            stats.fuel_used += used
        if not ok:
            stats.failures += 1
            raise WasmGuestError(f"Wasm extension {self.name!r} failed in {operation!r}: {text}", extension=self.name)
        return text

    def _ensure_instance(self) -> _Instance:
        if self._closed:
            raise RuntimeError(f"wasm extension {self.name!r} was closed; load it again")
        if self._instance is not None:
            return self._instance
        instance = self._instantiate()
        if isinstance(instance, WasmLoadError):
            raise instance  # raised here, so no traceback keeps the failed store (and its streams) alive
        self._instance = instance
        self.stats.instantiations += 1
        return instance

    def _instantiate(self) -> _Instance | WasmLoadError:
        store = wasmtime.Store(self.runtime.engine)
        store.set_limits(
            memory_size=self.limits.memory_bytes,
            table_elements=self.limits.table_elements,
            instances=MAX_INSTANCES,
            tables=MAX_TABLES,
            memories=MAX_MEMORIES,
        )
        store.set_wasi(wasi_config(self.name, self._preopens, self._environment, self.output))
        store.set_fuel(self.limits.fuel)
        store.set_epoch_deadline(self._deadline_ticks)
        try:
            return self._binding.instantiate(store)
        except ContractError as exc:
            return WasmLoadError(
                f"Wasm extension {self.name!r} does not follow the contract: {exc}", extension=self.name
            )
        except _TRAPS as exc:
            return WasmLoadError(
                f"Wasm extension {self.name!r} could not be instantiated: {str(exc).strip().splitlines()[0]}. "
                "If it imports something the host does not provide, rebuild it against the symphony:extension "
                "world only; if a limit is too small for it, raise [resources] memory_limit.",
                extension=self.name,
            )

    def _trapped(self, exc: wasmtime.WasmtimeError | wasmtime.Trap | GuestFault, operation: str) -> WasmTrapError:
        size = self._instance.memory_bytes() if self._instance is not None else None
        self._instance = None  # the store goes with it: a trapped instance is never entered again
        error = trap_error(
            exc,
            extension=self.name,
            operation=operation,
            limits=self.limits,
            guest_output=self.output.tail(),
            # Within a MiB of the limit: the failed grow, not the code, is the likeliest cause.
            memory_exhausted=size is not None and size + 1024 * 1024 >= self.limits.memory_bytes,
        )
        self.stats.traps += 1
        self.stats.traps_by_reason[error.reason] = self.stats.traps_by_reason.get(error.reason, 0) + 1
        if error.reason == "fuel":
            self.stats.last_fuel = self.limits.fuel
            self.stats.fuel_used += self.limits.fuel
        return error

    def _account(self) -> None:
        self.stats.denials = self._bridge.denials
        self.stats.host_calls = self._bridge.host_calls

    def close(self) -> None:
        """Drop the instance and its store; waits for a running invocation (bounded by its timeout)."""
        locked = self._lock.acquire(timeout=self.limits.timeout + 1.0)
        try:
            self._closed = True
            self._instance = None
        finally:
            if locked:
                self._lock.release()

    def __enter__(self) -> WasmExtension:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_OPEN: weakref.WeakSet[WasmRuntime] = weakref.WeakSet()


@atexit.register
def _close_open_runtimes() -> None:
    for runtime in list(_OPEN):
        runtime.close()
