"""Reports the confinement the subprocess sandbox can count on here."""

from __future__ import annotations

from symphony.hookspecs import HealthCheck, HealthStatus, Problem, hookimpl
from symphony.hookspecs.ports import HostContext

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
