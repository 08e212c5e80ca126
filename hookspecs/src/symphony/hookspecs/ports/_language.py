"""LanguagePort: what a language server knows about an open buffer (seed M1.2)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .._base import Base
from .._ids import BufferId
from ._editing import Position

__all__ = ["CompletionItem", "Diagnostic", "LanguagePort", "Location"]


class Diagnostic(Base, frozen=True):
    """A problem a language server found between ``start`` and ``end`` (positions as in the buffer)."""

    start: Position
    end: Position
    message: str
    severity: str = "error"  # error, warning, information, hint
    source: str | None = None
    code: str | None = None


class CompletionItem(Base, frozen=True):
    """One completion offered at a position; ``insert_text`` is what to insert (None: the label)."""

    label: str
    kind: str | None = None  # LSP's CompletionItemKind, as a lower-case name ("function", "module", ...)
    detail: str | None = None
    insert_text: str | None = None


class Location(Base, frozen=True):
    """A range in a file (an absolute path)."""

    path: str
    start: Position
    end: Position


@runtime_checkable
class LanguagePort(Protocol):
    """Language intelligence over the open buffers of the ``text_editing`` port, from real language servers.

    Provided by:
        ``symphony_provide_language``; builtin: plugin ``lsp`` (runs a language
        server per configured language, e.g. jedi-language-server for Python,
        and keeps it in sync with the buffers' edits).

    Lifetime:
        One per host; servers start when a buffer of their language is first
        asked about and are restarted (with backoff) when they die.

    Threads and processes:
        Call from the host's event loop.  Diagnostics are also pushed as events
        ``editor.diagnostics`` (data: buffer_id, path, revision, diagnostics).

    Errors:
        NotFoundError for an unknown buffer; ValidationError for a position
        outside it; LanguageServerError when no server is configured for the
        buffer's language or it cannot be started (the message says which and
        how to fix it).

    Since:
        1.0
    """

    async def diagnostics(self, buffer_id: BufferId) -> list[Diagnostic]:
        """The server's latest diagnostics for the buffer at its current revision (waits briefly for them)."""
        ...

    async def completions(self, buffer_id: BufferId, position: Position) -> list[CompletionItem]:
        """Completions at ``position`` in the buffer's current text."""
        ...

    async def hover(self, buffer_id: BufferId, position: Position) -> str | None:
        """What the server says about the symbol at ``position`` (Markdown), or None."""
        ...

    async def definition(self, buffer_id: BufferId, position: Position) -> list[Location]:
        """Where the symbol at ``position`` is defined (empty when the server does not know)."""
        ...
