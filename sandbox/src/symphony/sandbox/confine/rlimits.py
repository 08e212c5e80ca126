"""Resource limits (setrlimit): memory, CPU time, open files, file size, no core dumps.

The kernel enforces them without any cooperation from the worker, and an
unprivileged process (the worker, once in its own user namespace) can lower
but never raise them again.
"""

from __future__ import annotations

import resource

from ._policy import ConfinementPolicy

__all__ = ["apply_rlimits"]


def _set(which: int, soft: int, hard: int | None = None) -> None:
    hard = soft if hard is None else hard
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(which, (soft, hard))


def apply_rlimits(policy: ConfinementPolicy) -> None:
    """Apply the policy's limits to this process (inherited by any child it may start)."""
    _set(resource.RLIMIT_CORE, 0)
    if policy.memory_bytes is not None:
        _set(resource.RLIMIT_AS, policy.memory_bytes)
    if policy.cpu_seconds is not None:
        # The soft limit sends SIGXCPU (which we name in the crash message); the hard one SIGKILLs.
        _set(resource.RLIMIT_CPU, policy.cpu_seconds, policy.cpu_seconds + 1)
    _set(resource.RLIMIT_NOFILE, policy.max_open_files)
    if policy.max_file_bytes is not None:
        _set(resource.RLIMIT_FSIZE, policy.max_file_bytes)
