"""What every extension runtime (in-process, subprocess, wasm) offers the extension manager.

A :class:`Launch` is everything a runtime needs to start one extension: the
host builds it from the manifest, the grants and the extension's validated
configuration, so runtimes never read manifests or settings themselves.  A
runtime's ``start`` returns an :class:`Instance`; the manager decides when to
start, restart or give up (see :mod:`.manager`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

import msgspec

from symphony.hookspecs import ExtensionError

from .confine._policy import PathRule

__all__ = [
    "ExtensionCrashedError",
    "ExtensionDisabledError",
    "ExtensionTimeoutError",
    "HostCall",
    "Instance",
    "InstanceStats",
    "Launch",
    "Runtime",
    "RuntimeKind",
]

RuntimeKind = Literal["python", "subprocess", "wasm"]

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


class InstanceStats(msgspec.Struct, kw_only=True):
    """What a running instance can say about itself; None where the runtime cannot know."""

    pid: int | None = None
    memory_bytes: int | None = None
    cpu_seconds: float | None = None


class Instance(Protocol):
    """One started extension."""

    async def invoke(self, operation: str, input: dict[str, Any]) -> dict[str, Any]:
        """Run ``operation``; ExtensionCrashedError/ExtensionTimeoutError when the runtime fails."""
        ...

    async def close(self) -> None: ...

    def stats(self) -> InstanceStats: ...


class Runtime(Protocol):
    """Starts instances of one kind."""

    kind: RuntimeKind

    async def start(self, launch: Launch, host_call: HostCall) -> Instance: ...
