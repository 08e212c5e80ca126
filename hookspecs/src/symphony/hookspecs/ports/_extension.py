"""ExtensionPort: the runtime that loads and runs Orchestra Kit extensions (seed M1.1, M4)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .._health import HealthStatus
from .._ids import ExtensionId

__all__ = ["ExtensionPort"]


@runtime_checkable
class ExtensionPort(Protocol):
    """Loads and runs Orchestra Kit extensions in their sandboxes, so untrusted code never runs unchecked.

    Provided by:
        ``symphony_provide_extension_runtime``; builtin: plugin ``extensions``
        (in-process, subprocess and wasm runtimes).

    Lifetime:
        An extension id stays valid for the host's life; its sandbox runs from
        the first invocation until ``unload_extension`` or the host stops, and
        the runtime may restart a crashed sandbox behind the same id.

    Threads and processes:
        Call from the host's event loop.  The extension itself may run in
        another process (subprocess) or a wasm instance; only ``payload`` and
        results cross that boundary.

    Errors:
        ExtensionError when an extension fails to load or run,
        PermissionDeniedError when it asks for what it was not granted.

    Since:
        1.0
    """

    async def load_extension(self, manifest: Any) -> ExtensionId:
        """Make the extension ``manifest`` names (a Manifest or an installed name) invocable; return its id.

        The runtime may prepare it now (e.g. its environment) and start its
        sandbox on the first invocation.  Loading a loaded extension returns its id.

        Raises:
            ExtensionError: no such extension is installed, or it cannot be prepared.
        """
        ...

    async def invoke_extension(self, extension_id: ExtensionId, payload: Any) -> Any:
        """Run the extension on ``payload`` under its grants and budgets; return its result.

        Raises:
            PermissionDeniedError: the extension asked for something it was not granted.
            ExtensionError: the extension raised, crashed or ran out of its budget.
        """
        ...

    async def unload_extension(self, extension_id: ExtensionId) -> None:
        """Stop the extension's sandbox and release it; the next invocation may start it again."""
        ...

    async def extension_health(self, extension_id: ExtensionId) -> HealthStatus:
        """The extension's health (e.g. disabled after repeated failures); must not raise."""
        ...
