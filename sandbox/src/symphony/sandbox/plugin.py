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
    return HealthStatus(
        status="ok", message=f"Landlock ABI {confinement.landlock_abi}, userns, seccomp, rlimits", details=details
    )


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    return [HealthCheck(name="sandbox", check=_check)]
