"""The lifecycle every component follows, and what the host hands plugins."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, overload, runtime_checkable

from .._config import ComponentConfig
from .._contributions import Invocation
from .._distro import DistroProfile
from .._events import Event
from .._health import HealthStatus
from ._conductor import ConductorPort
from ._data import DataAccessPort
from ._editing import TextEditingPort
from ._extension import ExtensionPort
from ._ipc import MessageBus
from ._language import LanguagePort
from ._permission_records import PermissionRecordsPort
from ._pit import (
    ArbitrationEnginePort,
    ArtifactStorePort,
    DagTrackerPort,
    PitPort,
    PoolManagerPort,
    StaleManagerPort,
)
from ._prevalidation import PreValidationPort
from ._registry import PortName

__all__ = ["AsyncComponent", "HostContext"]


@runtime_checkable
class AsyncComponent(Protocol):
    """Something long-lived a plugin runs: started with the host, stopped with it, asked for its health.

    Contributed by ``symphony_components``.

    Lifetime:
        The host starts components in dependency order (``depends_on`` names
        other components) and stops them in reverse, each once per host.
        ``stop`` must be safe to call after a failed or partial ``start``.

    Threads and processes:
        Called from the host's event loop only; need not be thread-safe.

    Errors:
        An exception from ``start`` fails the component's plugin and skips the
        components that depend on it; one from ``stop`` is logged.

    Since:
        1.0
    """

    #: Unique across plugins; the key of ``[components.<name>]`` settings.
    name: str
    #: Names of the components that must start before this one.
    depends_on: Sequence[str]

    async def start(self) -> None:
        """Acquire resources and begin work; return once the component can serve."""
        ...

    async def stop(self) -> None:
        """Release everything ``start`` acquired; safe after a failed ``start`` and when called twice."""
        ...

    async def health_check(self) -> HealthStatus:
        """The component's health now, for ``symphony doctor``; should be quick and must not raise."""
        ...


class HostContext(Protocol):
    """The host as plugins see it: read settings, reach ports, emit events.

    Plugins never import the host; everything they need comes through this,
    so a plugin runs unchanged under any host that implements it.

    Lifetime:
        One per host, handed to every hook; valid until the host stops (a
        stopped host's ``port`` raises HostStateError).

    Threads and processes:
        Call it from the host's event loop thread; it is not shared with
        other processes (a sandboxed extension never sees it).

    Errors:
        PortUnavailableError when no plugin provides a port,
        ProviderConflictError when two do at one priority.

    Since:
        1.0
    """

    @property
    def api_version(self) -> tuple[int, int]:
        """The plugin API version the host implements, ``(major, minor)``."""
        ...

    @property
    def data_dir(self) -> Path:
        """Where components keep durable state (databases, artifacts)."""
        ...

    @property
    def cache_dir(self) -> Path:
        """Where components keep state that may be deleted at any time."""
        ...

    def component_config(self, name: str) -> ComponentConfig:
        """The validated settings section of component ``name`` (defaults if absent)."""
        ...

    @property
    def settings(self) -> Any:
        """All of the host's validated settings (read-only; see docs/configuration.md for the keys)."""
        ...

    @property
    def profile(self) -> DistroProfile | None:
        """The active distribution profile, if any (its policy applies to extensions)."""
        ...

    @overload
    def port(self, name: Literal["text_editing"]) -> TextEditingPort: ...
    @overload
    def port(self, name: Literal["language"]) -> LanguagePort: ...
    @overload
    def port(self, name: Literal["pit"]) -> PitPort: ...
    @overload
    def port(self, name: Literal["pool_manager"]) -> PoolManagerPort: ...
    @overload
    def port(self, name: Literal["dag_tracker"]) -> DagTrackerPort: ...
    @overload
    def port(self, name: Literal["artifact_store"]) -> ArtifactStorePort: ...
    @overload
    def port(self, name: Literal["arbitration_engine"]) -> ArbitrationEnginePort: ...
    @overload
    def port(self, name: Literal["stale_manager"]) -> StaleManagerPort: ...
    @overload
    def port(self, name: Literal["extension_runtime"]) -> ExtensionPort: ...
    @overload
    def port(self, name: Literal["conductor"]) -> ConductorPort: ...
    @overload
    def port(self, name: Literal["data_access"]) -> DataAccessPort: ...
    @overload
    def port(self, name: Literal["permission_records"]) -> PermissionRecordsPort: ...
    @overload
    def port(self, name: Literal["pre_validation"]) -> PreValidationPort: ...
    @overload
    def port(self, name: Literal["message_bus"]) -> MessageBus: ...
    @overload
    def port(self, name: PortName) -> object: ...
    def port(self, name: PortName) -> object:
        """The object serving port ``name``, typed as that port's Protocol.

        Resolved on first use and cached for the host's life.  Use only the
        Protocol's members: the provider may be any plugin's.  Raises
        PortUnavailableError if none provides it, ProviderConflictError if
        two do at one priority.
        """
        ...

    def port_provider(self, name: PortName) -> str:
        """The name of the plugin serving port ``name`` (for messages); raises PortUnavailableError if none does."""
        ...

    def emit(self, event: Event) -> None:
        """Broadcast ``event`` to every ``symphony_event`` implementation."""
        ...

    def contributions(self, hook_name: str) -> dict[str, tuple[str, Any]]:
        """Every contribution of a broadcast hook (``symphony_operators``...) by name, with its plugin.

        Raises ProviderConflictError naming both plugins when two use one name.
        """
        ...

    async def invoke(self, invocation: Invocation) -> Any:
        """Run one instrument, operator or extension call through every ``symphony_invoke`` wrapper.

        Every node call of a run and every call into an extension's runtime
        goes through here, so audit, tracing and metrics plugins see it.
        Returns what the call returned; raises what it (or a wrapper) raised.
        """
        ...
