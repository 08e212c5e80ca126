"""ExtensionPort: the runtime that loads and runs Orchestra Kit extensions (seed M1.1, M4)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .._health import HealthStatus
from .._ids import ExtensionId

__all__ = ["ExtensionPort"]


@runtime_checkable
class ExtensionPort(Protocol):
    async def load_extension(self, manifest: Any) -> ExtensionId:
        """Load the extension ``manifest`` describes, in the runtime it names."""
        ...

    async def invoke_extension(self, extension_id: ExtensionId, payload: Any) -> Any:
        """Run the extension on ``payload``; raises PermissionDeniedError or ExtensionError."""
        ...

    async def unload_extension(self, extension_id: ExtensionId) -> None: ...

    async def extension_health(self, extension_id: ExtensionId) -> HealthStatus: ...
