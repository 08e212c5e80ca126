"""Apply a ConfinementPolicy to the calling process, strongest mechanisms first, in a safe order.

Order matters: no_new_privs first (Landlock and seccomp need it); the namespaces
while the process is still single-threaded and can still write its uid map in
/proc; rlimits; Landlock (its rules open the granted paths, which a root host
may need its capabilities for); every capability dropped; seccomp last, because
it denies ``unshare`` and ``prlimit`` on others, which the earlier steps use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from . import capabilities, landlock, namespaces, rlimits, seccomp
from ._libc import UnavailableError
from ._policy import ConfinementPolicy, ConfinementReport

__all__ = ["ConfinementRefusedError", "confine"]


class ConfinementRefusedError(Exception):
    """A mechanism the policy needs is unavailable and ``weaker_allowed`` is false."""

    def __init__(self, missing: dict[str, str]) -> None:
        self.missing = missing
        reasons = "; ".join(f"{name}: {reason}" for name, reason in missing.items())
        super().__init__(
            f"required confinement unavailable ({reasons}); the worker refuses to run the extension. "
            "Enable the mechanism in the kernel, or set weaker_allowed in the policy to run with less isolation"
        )


def confine(policy: ConfinementPolicy, *, read_paths: Sequence[str], write_paths: Sequence[str]) -> ConfinementReport:
    """Confine this process as ``policy`` says; ``read_paths``/``write_paths`` are the full grants.

    Raises ConfinementRefusedError (before applying anything irreversible beyond
    what was already applied) when a needed mechanism is missing and weaker modes
    are not allowed.  Any other failure propagates: a half-applied mechanism must
    stop the worker.
    """
    applied: list[str] = []
    skipped: dict[str, str] = {}
    abi = 0

    def unavailable(name: str, reason: str) -> None:
        if not policy.weaker_allowed:
            raise ConfinementRefusedError({name: reason})
        skipped[name] = reason

    def assumed(name: str) -> bool:
        if name in policy.assume_unavailable:
            unavailable(name, "assumed unavailable by the policy (assume_unavailable)")
            return True
        return False

    seccomp.set_no_new_privs()
    if not policy.allow_network and not assumed("namespaces"):
        try:
            namespaces.enter_private_network()
            applied.append("namespaces")
        except UnavailableError as error:
            unavailable("namespaces", error.strerror or str(error))
    if not assumed("rlimits"):
        rlimits.apply_rlimits(policy)
        applied.append("rlimits")
    if not assumed("landlock"):
        try:
            abi = landlock.restrict(read_paths, write_paths, deny_tcp=not policy.allow_network, rules=policy.file_rules)
            applied.append("landlock")
        except UnavailableError as error:
            unavailable("landlock", error.strerror or str(error))
    capabilities.drop_all()
    if not assumed("seccomp"):
        try:
            program = seccomp.build_filter(
                pid=os.getpid(), allow_processes=policy.allow_processes, allow_network=policy.allow_network
            )
            seccomp.install(program)
            applied.append("seccomp")
        except UnavailableError as error:
            unavailable("seccomp", error.strerror or str(error))
    return ConfinementReport(applied=tuple(applied), skipped=skipped, landlock_abi=abi)
