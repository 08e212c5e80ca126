"""What confinement a worker asks for, and what it got."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

import msgspec

from symphony.hookspecs import FileOperation

__all__ = ["MECHANISMS", "ConfinementPolicy", "ConfinementReport", "PathRule", "PolicyError", "tree_accesses"]

#: Every mechanism a worker may apply, in the order it applies them.
MECHANISMS: Final = ("rlimits", "namespaces", "landlock", "seccomp")

_MIB: Final = 1024 * 1024


class PolicyError(ValueError):
    """A ConfinementPolicy cannot be applied as written; the message names the field."""


#: What a whole-tree WASI preopen gives: read-only, or everything but execute.
_TREE_READ: Final = frozenset({"read", "list"})
_TREE_WRITE: Final = frozenset({"read", "list", "write", "create", "delete"})


class PathRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One granted path and the file operations allowed on it, already as narrow as the grant.

    A directory's rule covers everything below it (a ``DIR/**`` grant); a file's rule
    covers that file only.  The host resolves ``path`` (no symlinks) before it gets here.
    """

    path: str
    operations: tuple[FileOperation, ...]

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise PolicyError(f"file_rules: expected an absolute path, got {self.path!r}")
        if not self.operations:
            raise PolicyError(f"file_rules: the rule on {self.path!r} allows no operation; leave it out instead")

    def tree_access(self) -> Literal["read", "write"] | None:
        """The whole-tree access this rule is (what a WASI preopen can express); None if it is narrower."""
        operations = frozenset(self.operations) - {"execute"}
        if operations == _TREE_READ:
            return "read"
        return "write" if operations == _TREE_WRITE else None


def tree_accesses(rules: Iterable[PathRule]) -> dict[str, Literal["read", "write"] | None]:
    """Each ruled path's whole-tree access, counting every rule on it and on the trees above it.

    What a WASI preopen can give: a read-write preopen also reads, so it fits only a
    tree where the grants already allow reading and writing (as Landlock adds up
    the rights of a path's rules and of its parents' rules).
    """
    merged: dict[str, set[FileOperation]] = {}
    for rule in rules:
        merged.setdefault(rule.path, set()).update(rule.operations)
    accesses: dict[str, Literal["read", "write"] | None] = {}
    for path, operations in merged.items():
        above = (ops for other, ops in merged.items() if path.startswith(other.rstrip("/") + "/"))
        effective = operations.union(*above)
        accesses[path] = PathRule(path=path, operations=tuple(sorted(effective))).tree_access()
    return accesses


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
