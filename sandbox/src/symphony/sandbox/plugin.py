"""The sandbox as a plugin: its four extension runtimes, and the confinement ``doctor`` reports.

The host reaches the runtimes only through ``symphony_extension_runtimes``;
each factory imports its runtime when the host first runs an extension of
that kind, so a host that runs none pays for no import (wasmtime least).
"""

from __future__ import annotations

from symphony.hookspecs import HealthCheck, HealthStatus, Problem, hookimpl
from symphony.hookspecs.ports import HostContext
from symphony.hookspecs.runtimes import Runtime, RuntimeSpec

from .probe import probe

SYMPHONY_API = "^1.0"


def _check() -> HealthStatus:
    confinement = probe()
    details = {**confinement.available(), "landlock_abi": confinement.landlock_abi}
    if confinement.missing:
        problem = Problem(
            message=f"kernel lacks {', '.join(confinement.missing)}; subprocess extensions get weaker isolation",
            fix="Run on Linux >= 5.13 with Landlock and unprivileged user namespaces enabled, or use the wasm runtime.",
            severity="warning",
        )
        return HealthStatus(status="degraded", message="partial confinement", problems=(problem,), details=details)
    active = (
        f"subprocess workers confined by Landlock ABI {confinement.landlock_abi} (files), user+network namespaces"
        " (no network), seccomp (no fork/exec/inet sockets/ptrace), rlimits; wasm by fuel, epochs, memory limits"
    )
    return HealthStatus(status="ok", message=active, details=details)


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    return [HealthCheck(name="sandbox", check=_check)]


def _in_process(context: HostContext) -> Runtime:
    from .inprocess import InProcessRuntime

    return InProcessRuntime()


def _subprocess(context: HostContext) -> Runtime:
    from .subprocess.runtime import SubprocessRuntime

    return SubprocessRuntime()


def _wasm(context: HostContext) -> Runtime:
    from .wasm.adapter import WasmManagerRuntime

    return WasmManagerRuntime(context.cache_dir / "wasm")


def _mcp(context: HostContext) -> Runtime:
    from .mcp.runtime import McpRuntime

    return McpRuntime()


@hookimpl
def symphony_extension_runtimes(context: HostContext) -> list[RuntimeSpec]:
    return [
        RuntimeSpec(name="python", factory=_in_process, description="In the host's process: trusted extensions only."),
        RuntimeSpec(
            name="subprocess",
            factory=_subprocess,
            description="A worker process confined by Landlock, namespaces, seccomp and rlimits.",
        ),
        RuntimeSpec(name="wasm", factory=_wasm, description="Wasmtime: fuel, epochs and memory limits, WASI preopens."),
        RuntimeSpec(
            name="mcp",
            factory=_mcp,
            description="An MCP server over stdio, confined as a subprocess worker is; its HTTP mediated by the host.",
        ),
    ]
