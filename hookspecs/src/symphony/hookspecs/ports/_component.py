"""The lifecycle every component follows, and what the host hands plugins."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .._config import ComponentConfig
from .._distro import DistroProfile
from .._events import Event
from .._health import HealthStatus

__all__ = ["AsyncComponent", "HostContext"]


@runtime_checkable
class AsyncComponent(Protocol):
    """The seed's AsyncComponent: something with a start, a stop and a health.

    The host starts components in dependency order (``depends_on`` names
    other components) and stops them in reverse.  ``stop`` must be safe to
    call after a failed ``start``.
    """

    name: str
    depends_on: Sequence[str]

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def health_check(self) -> HealthStatus: ...


class HostContext(Protocol):
    """The host as plugins see it: read settings, reach ports, emit events.

    Plugins never import the host; everything they need comes through this.
    """

    @property
    def api_version(self) -> tuple[int, int]: ...

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

    def port(self, name: str) -> Any:
        """The object serving port ``name``; raises PortUnavailableError if none does."""
        ...

    def port_provider(self, name: str) -> str:
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
