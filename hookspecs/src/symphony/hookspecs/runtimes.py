"""The contract between the host and an extension runtime (in-process, confined subprocess, wasm, or a plugin's own).

The host turns what it knows (the manifest, the grants, the extension's
validated configuration, the distribution's policy) into a :class:`Launch`;
a :class:`Runtime` starts it and returns an :class:`Instance`; the host's
extension manager decides when to start, restart or give up.  Runtimes come
from plugins through ``symphony_extension_runtimes`` (the
``symphony-sandbox`` distribution contributes ``python``, ``subprocess``,
``wasm`` and ``mcp``), so the host never imports a runtime and any of them can be
replaced.  Runtimes never read manifests or settings themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import msgspec

from ._contributions import _Contribution
from ._exceptions import ExtensionError
from ._manifest import RuntimeKind
from ._permissions import FileOperation

if TYPE_CHECKING:
    from .ports import HostContext

__all__ = [
    "CONFINED_STEP_MODULE",
    "ConfinedStep",
    "ExtensionCrashedError",
    "ExtensionDisabledError",
    "ExtensionTimeoutError",
    "HostCall",
    "Instance",
    "InstanceStats",
    "Launch",
    "PathRule",
    "PolicyError",
    "Runtime",
    "RuntimeKind",
    "RuntimeSpec",
    "tree_accesses",
]

#: How an extension reaches the host (mediated network, model calls, logs):
#: ``await host_call(method, params)``; raises PermissionDeniedError when denied.
HostCall = Callable[[str, dict[str, Any]], Awaitable[Any]]


class ExtensionCrashedError(ExtensionError):
    """The extension's runtime died or trapped during a call; the next call gets a fresh one."""

    category = "extension.crashed"


class ExtensionTimeoutError(ExtensionError, TimeoutError):
    """A call ran past the extension's wall-clock limit and its runtime was stopped."""

    category = "extension.timeout"


class ExtensionDisabledError(ExtensionError):
    """The extension failed too often in a row (a crash loop) and is not started again."""

    category = "extension.disabled"


class PolicyError(ValueError):
    """A confinement rule or policy cannot be applied as written; the message names the field."""


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


class Launch(msgspec.Struct, frozen=True, kw_only=True):
    """One extension, ready to start: what to run and within which limits.

    ``entry`` is ``module:callable`` for python and subprocess runtimes, a
    module path for wasm.  ``file_rules`` are the granted file permissions,
    resolved, each path with exactly its granted operations; ``read_paths`` and
    ``write_paths`` are further whole directories to read or write (tests,
    embedders).  ``guest_paths`` says where a wasm guest sees one of them (a
    named location such as ``data`` at ``/data``), the others appear at their
    own path.

    ``python`` and ``environment_paths`` describe the extension's own virtual
    environment (subprocess only; built by the host from the manifest's
    ``python_dependencies``): the interpreter to run the worker with, and that
    environment's site-packages, which the extension's imports see before the
    host's packages and which the worker may read under confinement.

    ``command`` is an mcp server's argv (``entry`` is then empty), its
    ``argv[0]`` already resolved by the host to an absolute path; ``operations``
    are the entries the manifest contributes (an mcp server's tools that may be
    called: the manifest, not the server, says which).
    """

    name: str
    kind: RuntimeKind
    entry: str
    sys_path: tuple[str, ...] = ()
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    timeout: float = 30.0
    memory_bytes: int | None = None
    cpu_seconds: float | None = None
    read_paths: tuple[str, ...] = ()
    write_paths: tuple[str, ...] = ()
    file_rules: tuple[PathRule, ...] = ()
    guest_paths: dict[str, str] = msgspec.field(default_factory=dict)
    weaker_allowed: bool = False
    #: The share of one core ``[resources] cpu_limit`` gives (1.0 = 100%); wasm scales its fuel by it.
    cpu_share: float = 1.0
    python: str | None = None
    environment_paths: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()


class InstanceStats(msgspec.Struct, kw_only=True):
    """What a running instance can say about itself; None where the runtime cannot know."""

    pid: int | None = None
    memory_bytes: int | None = None
    cpu_seconds: float | None = None


class Instance(Protocol):
    """One started extension, used by one host process from its event loop (not shared across threads)."""

    async def invoke(self, operation: str, input: dict[str, Any]) -> dict[str, Any]:
        """Run ``operation``; ExtensionCrashedError/ExtensionTimeoutError when the runtime fails.

        Any other exception is the extension's own answer (bad input, a denied
        permission): the manager passes it on and keeps the instance.
        """
        ...

    async def close(self) -> None:
        """Stop the instance and free what it holds; called once, also after a crash."""
        ...

    def stats(self) -> InstanceStats:
        """What the instance knows about itself now (cheap: ``symphony ext ps`` calls it)."""
        ...


class Runtime(Protocol):
    """Starts instances of one kind; it enforces the launch's limits and file rules, or refuses to start."""

    kind: RuntimeKind

    async def start(self, launch: Launch, host_call: HostCall) -> Instance:
        """A started instance of ``launch``; ExtensionError (or a subclass) naming why it cannot start."""
        ...


class RuntimeSpec(_Contribution, frozen=True, kw_only=True):
    """An extension runtime a plugin offers; ``name`` is the runtime kind it serves.

    ``factory(context)`` builds the runtime when the host first runs an
    extension of that kind, so a runtime that is never used costs no import.
    """

    name: RuntimeKind
    factory: Callable[[HostContext], Runtime]


#: The module a runtime provider installs to run one build step confined: ``python -m MODULE SPEC``.
CONFINED_STEP_MODULE: Final = "symphony.sandbox.confine.step"


class ConfinedStep(msgspec.Struct, frozen=True, kw_only=True):
    """A command the host runs confined (a step of building an extension's environment), as JSON on the command line.

    The step may read only ``read_paths`` and write only ``write_paths``; the
    network stays open and processes are allowed.  ``weaker_allowed`` starts it
    even when a mechanism is unavailable.
    """

    command: tuple[str, ...]
    read_paths: tuple[str, ...]
    write_paths: tuple[str, ...]
    weaker_allowed: bool
