"""The Wasmtime runtime for untrusted extensions.

An extension is a WebAssembly component built for the ``extension`` world of
``symphony:extension@0.1.0`` (see :mod:`symphony.hookspecs.wit`; Python authors build
one with componentize-py, :func:`build_python_component`) or a core module following
the small memory ABI in ``docs/wasm-extensions.md``. :class:`WasmRuntime` loads it
through a compiled-code cache and runs each invocation under fuel, an epoch deadline and
a memory limit, with only granted directories preopened and every network or model
request checked by the caller's permission check.
"""

from ._build import ComponentBuildError, build_python_component, componentize_py
from ._cache import CacheStats
from ._errors import TrapReason, WasmExtensionError, WasmGuestError, WasmLoadError, WasmTrapError
from ._host import HostServices, HttpRequest, HttpResponse, LogLevel, PermissionCheck
from ._limits import Preopen, WasmLimits
from ._runtime import ExtensionStats, WasmExtension, WasmRuntime

__all__ = [
    "CacheStats",
    "ComponentBuildError",
    "ExtensionStats",
    "HostServices",
    "HttpRequest",
    "HttpResponse",
    "LogLevel",
    "PermissionCheck",
    "Preopen",
    "TrapReason",
    "WasmExtension",
    "WasmExtensionError",
    "WasmGuestError",
    "WasmLimits",
    "WasmLoadError",
    "WasmRuntime",
    "WasmTrapError",
    "build_python_component",
    "componentize_py",
]
