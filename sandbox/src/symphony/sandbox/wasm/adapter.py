"""The wasm runtime behind the extension manager: one engine and cache per host, an instance per extension.

The manager speaks in async host calls that check *and* perform a request
(like the subprocess worker's guest API); the wasm runtime checks first and
then asks its services.  So the adapter lets the runtime's check pass and
makes the services call the host: a denial from the host becomes the WIT
``denied`` answer, anything else ``failed``.  Calls into the guest run on a
worker thread, so a long one (bounded by fuel and its epoch deadline) never
blocks the event loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from symphony.hookspecs import Permission, PermissionDeniedError
from symphony.hookspecs.runtimes import HostCall, InstanceStats, Launch, RuntimeKind, tree_accesses

from ._errors import WasmLoadError
from ._host import HostCallRefused, HttpRequest, HttpResponse
from ._limits import Preopen, WasmLimits
from ._runtime import WasmExtension, WasmRuntime

__all__ = ["WasmInstance", "WasmManagerRuntime"]


class _Services:
    """HostServices over the manager's async host call, from the guest's thread."""

    def __init__(self, host_call: HostCall, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._host_call = host_call
        self._loop = loop
        self._timeout = timeout

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        future = asyncio.run_coroutine_threadsafe(self._await(method, params), self._loop)
        try:
            # The epoch deadline cannot interrupt a guest waiting in a host call: without this
            # bound, a host call that never ends (or a loop that stopped) would hang the invocation.
            return future.result(timeout=self._timeout)
        except PermissionDeniedError as error:
            raise HostCallRefused("denied", str(error)) from None
        except TimeoutError:
            future.cancel()
            raise HostCallRefused(
                "failed", f"the host did not answer {method!r} within the extension's timeout of {self._timeout:g} s"
            ) from None

    async def _await(self, method: str, params: dict[str, Any]) -> Any:
        return await self._host_call(method, params)

    def http_request(self, request: HttpRequest) -> HttpResponse:
        result = self._call(
            "http",
            {
                "method": request.method,
                "url": request.url,
                "headers": dict(request.headers),
                "body": request.body.decode("utf-8", "replace") if request.body else None,
                "timeout": None,
            },
        )
        return HttpResponse(
            status=int(result["status"]),
            headers=tuple((str(k), str(v)) for k, v in dict(result.get("headers", {})).items()),
            body=str(result.get("body", "")).encode(),
        )

    def model_call(self, model: str, input: str) -> str:
        return str(self._call("model", {"model": model, "input": input}))


def _allow(permission: Permission) -> None:
    """The host call checks each request itself (and records it in the audit log)."""


def _granted_preopens(launch: Launch) -> list[Preopen]:
    """A granted directory is a preopen only when one says exactly what the grants on its tree allow.

    A read-write preopen reads too, so a tree granted writing without reading has none:
    the launch is refused rather than widened (the host refuses it earlier, naming the grant).
    """
    directories = [rule for rule in launch.file_rules if Path(rule.path).is_dir()]
    preopens = []
    for path, access in tree_accesses(directories).items():
        if access is None:
            raise WasmLoadError(
                f"Wasm extension {launch.name!r}: its grants on {path} allow neither reading only (read, list)"
                " nor reading and writing (read, list, write, create, delete), which is all a preopened"
                " directory can give; grant reading too (file:read and file:write) or file:admin on it.",
                extension=launch.name,
            )
        preopen = Preopen.read_write if access == "write" else Preopen.read_only
        preopens.append(preopen(path, launch.guest_paths.get(path, path)))
    return preopens


class WasmInstance:
    def __init__(self, extension: WasmExtension) -> None:
        self.extension = extension

    async def invoke(self, operation: str, input: dict[str, Any]) -> dict[str, Any]:
        result = await asyncio.to_thread(self.extension.invoke, operation, input)
        return result if isinstance(result, dict) else {"result": result}

    async def close(self) -> None:
        self.extension.close()

    def stats(self) -> InstanceStats:
        return InstanceStats()


class WasmManagerRuntime:
    """Loads launches of kind ``wasm``: granted paths preopened at ``launch.guest_paths`` or their own path."""

    kind: RuntimeKind = "wasm"

    def __init__(self, cache_dir: Path) -> None:
        self._cache_dir = cache_dir
        self._runtime: WasmRuntime | None = None

    async def start(self, launch: Launch, host_call: HostCall) -> WasmInstance:
        if self._runtime is None:
            self._runtime = WasmRuntime(self._cache_dir)
        guest = launch.guest_paths
        preopens = [Preopen.read_only(p, guest.get(p, p)) for p in launch.read_paths if Path(p).is_dir()]
        preopens += [Preopen.read_write(p, guest.get(p, p)) for p in launch.write_paths if Path(p).is_dir()]
        preopens += _granted_preopens(launch)
        # Fuel per invocation scales with [resources] cpu_limit (100% = the default budget).
        fuel = max(1, int(WasmLimits().fuel * launch.cpu_share))
        limits = WasmLimits(
            timeout=launch.timeout,
            fuel=fuel,
            **({"memory_bytes": launch.memory_bytes} if launch.memory_bytes else {}),
        )
        services = _Services(host_call, asyncio.get_running_loop(), launch.timeout)
        environment = {key: str(value) for key, value in launch.config.items()}
        runtime = self._runtime
        extension = await asyncio.to_thread(
            runtime.load,
            launch.entry,
            name=launch.name,
            permissions=_allow,
            services=services,
            preopens=preopens,
            environment=environment,
            limits=limits,
        )
        return WasmInstance(extension)

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
