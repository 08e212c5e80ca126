"""The LanguagePort: buffers of the ``text_editing`` port kept open in their language's server.

A buffer is opened in its server (``didOpen``) the first time it is asked about.
Its edits follow as ranged ``didChange`` notifications from the editing port's
``subscribe`` when the server takes ranged changes; else the whole text is sent
again, once per burst of edits.  ``editor.closed`` closes it (``didClose``).  After a
server restart every document is opened again with its current text.

Diagnostics arrive as ``textDocument/publishDiagnostics``; the latest per buffer
are kept and pushed as ``editor.diagnostics`` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import msgspec

from symphony.hookspecs import BufferId, Event, LanguageServerError, NotFoundError
from symphony.hookspecs.ports import (
    BufferChange,
    BufferInfo,
    CompletionItem,
    Diagnostic,
    Location,
    Position,
    TextEditingPort,
)

from . import convert
from .options import LspOptions, ServerSpec
from .rpc import Connection, RemoteError
from .server import LanguageServer

__all__ = ["Languages"]

log = logging.getLogger("symphony.lsp")

#: LSP's ContentModified and RequestCancelled: the server dropped a question an edit made stale.
_OVERTAKEN = (-32801, -32800)


class _Document:
    """One buffer as its server knows it."""

    def __init__(self, info: BufferInfo, language: str, server: LanguageServer) -> None:
        self.buffer_id = info.buffer_id
        self.path = info.path
        self.uri = Path(info.path).as_uri()
        self.language = language
        self.server = server
        self.generation = 0  # the server process it was opened in (0: none yet)
        self.version = info.version
        self.text: str | None = None  # the whole text last sent (None: ranged edits followed it)
        self.stale = True  # the server's copy may differ from the buffer
        self.sync_due = False  # a sync is scheduled and has not started yet
        self.unsubscribe: Callable[[], None] = lambda: None
        self.reads = 0  # changes seen while its text was being read
        self.lock = asyncio.Lock()
        self.diagnostics: list[Diagnostic] = []
        self.diagnosed: int | None = None  # the version the diagnostics are of
        self.published = 0  # publications received, so a late conversion does not overwrite a newer one
        self.arrived = asyncio.Event()


def _root(path: Path, markers: list[str]) -> Path:
    """The nearest folder above ``path`` holding one of ``markers``, else its own folder."""
    for folder in path.parents:
        if any((folder / marker).exists() for marker in markers):
            return folder
    return path.parent


def _lines_of(path: str) -> list[str]:
    """The lines of a file a definition points into (none if it cannot be read: positions stay as given)."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").split("\n")
    except OSError:
        return []


class Languages:
    """The LanguagePort; ``editing`` gives the ``text_editing`` port, ``emit`` sends events to the host."""

    def __init__(self, editing: Callable[[], TextEditingPort], options: LspOptions, emit: Callable[[Event], None]):
        self._editing = editing
        self._options = options
        self._emit = emit
        self._servers: dict[tuple[str, Path], LanguageServer] = {}
        self._documents: dict[BufferId, _Document] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def servers(self) -> list[LanguageServer]:
        return list(self._servers.values())

    # -- the port ---------------------------------------------------------------------------------------------

    async def diagnostics(self, buffer_id: BufferId) -> list[Diagnostic]:
        document, _connection, _text = await self._ready(buffer_id)
        deadline = time.monotonic() + self._options.diagnostics_wait
        while document.diagnosed is None or document.diagnosed < document.version:
            arrived = document.arrived
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await arrived.wait()
        return list(document.diagnostics)

    async def completions(self, buffer_id: BufferId, position: Position) -> list[CompletionItem]:
        result, _document, _text = await self._ask(buffer_id, position, "textDocument/completion")
        return convert.completions(result)

    async def hover(self, buffer_id: BufferId, position: Position) -> str | None:
        result, _document, _text = await self._ask(buffer_id, position, "textDocument/hover")
        return convert.hover_text(result)

    async def definition(self, buffer_id: BufferId, position: Position) -> list[Location]:
        result, document, text = await self._ask(buffer_id, position, "textDocument/definition")
        found = convert.locations(result)
        if not document.server.spec.counts_code_points:
            return found
        lines = {document.path: text.split("\n")}
        for location in found:
            if location.path not in lines:
                lines[location.path] = _lines_of(location.path)
        return [
            Location(
                path=location.path,
                start=convert.from_points(lines[location.path], location.start),
                end=convert.from_points(lines[location.path], location.end),
            )
            for location in found
        ]

    async def _ask(self, buffer_id: BufferId, position: Position, method: str) -> tuple[Any, _Document, str]:
        """Ask at ``position`` in the buffer's current text; once more if an edit overtook the question."""
        retried = False
        while True:
            document, connection, text = await self._ready(buffer_id)
            convert.check_position(text, position)
            sent = position
            if document.server.spec.counts_code_points:
                line = text.split("\n")[position.line]
                sent = Position(line=position.line, character=convert.to_points(line, position.character))
            params = {"textDocument": {"uri": document.uri}, "position": convert.wire(sent)}
            try:
                return await connection.request(method, params, timeout=self._options.request_timeout), document, text
            except RemoteError as error:
                if error.code not in _OVERTAKEN or retried:
                    raise
                retried = True

    # -- documents --------------------------------------------------------------------------------------------

    async def _info(self, buffer_id: BufferId) -> BufferInfo:
        for info in await self._editing().list_buffers():
            if info.buffer_id == buffer_id:
                return info
        self._forget(buffer_id)
        raise NotFoundError(f"No open buffer {buffer_id!r}; open the file with the text_editing port first.")

    def _server(self, language: str, spec: ServerSpec, path: Path) -> LanguageServer:
        root = _root(path, spec.root_markers)
        server = self._servers.get((language, root))
        if server is None:
            server = LanguageServer(
                language, spec, root, self._options, on_notification=self._notified, on_started=self._started
            )
            self._servers[language, root] = server
        return server

    def _document(self, info: BufferInfo) -> _Document:
        document = self._documents.get(info.buffer_id)
        if document is not None:
            return document
        path = Path(info.path)
        found = self._options.language_of(path)
        if found is None:
            known = ", ".join(f"{lang} ({' '.join(spec.suffixes)})" for lang, spec in self._options.all_servers.items())
            raise LanguageServerError(
                f"No language server is configured for {path} (suffix {path.suffix or 'none'!r}); configured: {known}."
                " Add one under [components.lsp.options.servers.<language>] with command and suffixes."
            )
        language, spec = found
        document = _Document(info, language, self._server(language, spec, path))
        document.unsubscribe = self._editing().subscribe(info.buffer_id, lambda c: self._changed(document, c))
        self._documents[info.buffer_id] = document
        return document

    async def _ready(self, buffer_id: BufferId) -> tuple[_Document, Connection, str]:
        """The buffer's document, open and current in its running server, its connection and its text."""
        document = self._document(await self._info(buffer_id))
        async with document.lock:
            connection = await document.server.connection()
            text = await self._sync(document, connection)
        return document, connection, text

    async def _read(self, document: _Document) -> tuple[str, int]:
        """The buffer's text and revision, read again if it changed meanwhile (subscribers see every change)."""
        while True:
            document.reads = 0
            info = await self._info(document.buffer_id)
            text = await self._editing().get_buffer_content(document.buffer_id)
            if document.reads == 0:
                return text, info.version

    async def _sync(self, document: _Document, connection: Connection) -> str:
        """Bring the server's copy up to the buffer's text; return that text."""
        text, revision = await self._read(document)
        server = document.server
        if document.generation != server.generation:
            document.version = revision
            connection.notify(
                "textDocument/didOpen",
                {
                    "textDocument": {
                        "uri": document.uri,
                        "languageId": document.language,
                        "version": revision,
                        "text": text,
                    }
                },
            )
            document.generation, document.text, document.stale = server.generation, text, False
        elif document.stale:
            if text != document.text:
                document.version = max(revision, document.version + 1)
                connection.notify(
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": document.uri, "version": document.version},
                        "contentChanges": [{"text": text}],
                    },
                )
            document.text, document.stale = text, False
        return text

    def _changed(self, document: _Document, change: BufferChange) -> None:
        """A change from the editing port: ranged to a server that takes them, else noted for the next sync."""
        document.reads += 1
        server, connection = document.server, document.server.current
        if (
            connection is None
            or document.generation != server.generation
            or not server.incremental
            or document.stale
            or document.lock.locked()
        ):
            document.stale = True
            self._sync_soon(document)
            return
        document.version = change.revision
        changes = [
            {"range": {"start": convert.wire(e.start), "end": convert.wire(e.end)}, "text": e.text}
            for e in change.edits
        ]
        try:
            connection.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": document.uri, "version": change.revision}, "contentChanges": changes},
            )
        except LanguageServerError:
            document.stale = True  # gone: the restart opens it again with its whole text
        document.text = None

    def _sync_soon(self, document: _Document) -> None:
        """Send the buffer's edits now, so the server's diagnostics follow them without a request."""

        if document.sync_due:
            return  # one is on its way: it reads the text when it runs, this change included

        async def sync() -> None:
            document.sync_due = False
            with contextlib.suppress(LanguageServerError, NotFoundError):
                await self._ready(document.buffer_id)

        document.sync_due = True
        self._spawn(sync())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _forget(self, buffer_id: BufferId) -> None:
        document = self._documents.pop(buffer_id, None)
        if document is None:
            return
        with contextlib.suppress(Exception):  # the editor may have forgotten the buffer first
            document.unsubscribe()
        connection = document.server.current
        if document.generation == document.server.generation and connection is not None:
            with contextlib.suppress(LanguageServerError):
                connection.notify("textDocument/didClose", {"textDocument": {"uri": document.uri}})

    def on_event(self, event: Event) -> None:
        """``editor.closed``: the buffer is closed in its server."""
        buffer_id = event.data.get("buffer_id")
        if event.topic != "editor.closed" or not isinstance(buffer_id, str):
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # emitted off the host's loop: the next request finds the buffer gone and closes it
        self._forget(BufferId(buffer_id))

    # -- the servers' side ------------------------------------------------------------------------------------

    def _started(self, server: LanguageServer) -> None:
        """A server (re)started: its documents are opened again."""
        for document in self._documents.values():
            if document.server is server and document.generation != 0:
                self._sync_soon(document)

    def _notified(self, server: LanguageServer, method: str, params: Any) -> None:
        if method == "window/logMessage" and isinstance(params, dict):
            log.debug("%s: %s", server.name, params.get("message"))
        if method != "textDocument/publishDiagnostics" or not isinstance(params, dict):
            return
        uri = params.get("uri")
        for document in self._documents.values():
            if document.server is server and document.uri == uri:
                self._diagnosed(document, params)

    def _diagnosed(self, document: _Document, params: dict[str, Any]) -> None:
        version = params.get("version")
        revision = version if isinstance(version, int) else document.version
        found = convert.diagnostics(params.get("diagnostics") or [])
        document.published += 1
        if not document.server.spec.counts_code_points or not found:
            self._store(document, revision, found)
            return
        published = document.published

        async def in_utf16() -> None:  # the server counted code points: convert against the buffer's text
            with contextlib.suppress(NotFoundError):
                lines = (await self._editing().get_buffer_content(document.buffer_id)).split("\n")
                if published == document.published:  # else a newer publication superseded this one
                    converted = [
                        msgspec.structs.replace(
                            d, start=convert.from_points(lines, d.start), end=convert.from_points(lines, d.end)
                        )
                        for d in found
                    ]
                    self._store(document, revision, converted)

        self._spawn(in_utf16())

    def _store(self, document: _Document, revision: int, found: list[Diagnostic]) -> None:
        """Keep the buffer's latest diagnostics, wake who waits for them, and push them as an event."""
        document.diagnostics, document.diagnosed = found, revision
        document.arrived.set()
        document.arrived = asyncio.Event()
        data = {
            "buffer_id": document.buffer_id,
            "path": document.path,
            "revision": revision,
            "diagnostics": msgspec.to_builtins(found),
        }
        self._emit(Event(topic="editor.diagnostics", source="lsp", data=data))

    async def aclose(self) -> None:
        """Close every document and stop every server (``shutdown``, ``exit``), with the host."""
        for buffer_id in list(self._documents):
            self._forget(buffer_id)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*(server.stop() for server in self._servers.values()), return_exceptions=True)
