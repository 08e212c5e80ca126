"""What confinement a worker asks for, and what it got."""

from __future__ import annotations

from typing import Final

import msgspec

from symphony.hookspecs.runtimes import PathRule, PolicyError

__all__ = ["MECHANISMS", "ConfinementPolicy", "ConfinementReport", "PolicyError"]

#: Every mechanism a worker may apply, in the order it applies them.
MECHANISMS: Final = ("rlimits", "namespaces", "landlock", "seccomp")

_MIB: Final = 1024 * 1024


class ConfinementPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What an untrusted worker may do; everything not listed is denied.

    - ``read_paths``: extra files or directories the worker may read (and execute).
      The interpreter's prefixes and the worker's import paths are always readable.
    - ``write_paths``: files or directories the worker may create, change and remove
      in; its private working directory is always writable.
    - ``file_rules``: the extension's file grants, each path with exactly the
      operations granted there (Landlock rights per operation).
    - ``allow_network``: keep the host's network (no network namespace, no socket
      filter).  Declared network access is normally *mediated* by the host instead.
    - ``allow_processes``: allow fork/clone/exec (otherwise denied by seccomp).
    - ``memory_bytes``: address-space limit (RLIMIT_AS); ``None`` for none.
    - ``cpu_seconds``: CPU-time limit (RLIMIT_CPU; SIGXCPU, then SIGKILL a second later).
    - ``wall_clock_seconds``: default per-invocation deadline, enforced by the parent.
    - ``max_open_files``: RLIMIT_NOFILE.
    - ``max_file_bytes``: RLIMIT_FSIZE, the largest file the worker may write.
    - ``weaker_allowed``: start even if a needed mechanism is unavailable (the
      worker then reports what it skipped); otherwise it refuses to start.
    - ``assume_unavailable``: treat these mechanisms as missing from the kernel.
      For tests of the decision above and for distributions that must not rely on
      one; it can only weaken, never strengthen, what the kernel gives.
    """

    read_paths: tuple[str, ...] = ()
    write_paths: tuple[str, ...] = ()
    file_rules: tuple[PathRule, ...] = ()
    allow_network: bool = False
    allow_processes: bool = False
    memory_bytes: int | None = 512 * _MIB
    cpu_seconds: int | None = 60
    wall_clock_seconds: float | None = 30.0
    max_open_files: int = 64
    max_file_bytes: int | None = 64 * _MIB
    weaker_allowed: bool = False
    assume_unavailable: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.assume_unavailable) - set(MECHANISMS))
        if unknown:
            raise PolicyError(
                f"assume_unavailable: unknown mechanism(s) {unknown}; expected some of {list(MECHANISMS)}"
            )
        if self.memory_bytes is not None and self.memory_bytes < 64 * _MIB:
            raise PolicyError(
                f"memory_bytes: expected at least 64 MiB (the interpreter needs about 40), got {self.memory_bytes}"
            )
        if self.cpu_seconds is not None and self.cpu_seconds < 1:
            raise PolicyError(f"cpu_seconds: expected a whole number >= 1, got {self.cpu_seconds}")
        if self.wall_clock_seconds is not None and self.wall_clock_seconds <= 0:
            raise PolicyError(f"wall_clock_seconds: expected > 0, got {self.wall_clock_seconds}")
        if self.max_open_files < 16:
            raise PolicyError(
                f"max_open_files: expected at least 16 (the worker itself uses ~10), got {self.max_open_files}"
            )
        if self.max_file_bytes is not None and self.max_file_bytes < 0:
            raise PolicyError(f"max_file_bytes: expected >= 0, got {self.max_file_bytes}")
        for field in ("read_paths", "write_paths"):
            relative = [p for p in getattr(self, field) if not p.startswith("/")]
            if relative:
                raise PolicyError(
                    f"{field}: expected absolute paths, got {relative}; resolve them against a known directory first"
                )

    def needed(self) -> tuple[str, ...]:
        """The mechanisms this policy relies on; a missing one stops the worker unless ``weaker_allowed``."""
        return tuple(m for m in MECHANISMS if m != "namespaces" or not self.allow_network)


class ConfinementReport(msgspec.Struct, frozen=True, kw_only=True):
    """What the worker applied to itself, told to the parent so the host can tell the user.

    ``skipped`` maps each needed-but-unavailable mechanism to the reason; it is
    empty unless the policy said ``weaker_allowed``.
    """

    applied: tuple[str, ...]
    skipped: dict[str, str] = {}
    landlock_abi: int = 0
