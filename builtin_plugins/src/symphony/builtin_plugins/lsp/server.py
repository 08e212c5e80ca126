"""One language server process for one language and workspace root: started on first use, restarted when it dies.

The child runs through a launcher that sets PR_SET_PDEATHSIG, so it dies with its
host even when the host is SIGKILLed.  A server that keeps dying is restarted with
backoff (``RetryPolicy``: 0.1, 0.2, 0.4 ... s) up to ``max_restarts`` times in a
row, then reported failed; one that ran for a while starts the count over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Literal

from symphony.hookspecs import LanguageServerError, RetryPolicy, dying_with_parent

from .options import LspOptions, ServerSpec
from .rpc import Connection, RemoteError

__all__ = ["LanguageServer", "ServerState"]

log = logging.getLogger("symphony.lsp")

ServerState = Literal["stopped", "starting", "running", "restarting", "failed"]

#: Seconds of running after which the restart count starts over.
_STABLE_AFTER: Final = 30.0
#: Seconds ``shutdown`` and then the process's exit may take before it is killed.
_STOP_GRACE: Final = 2.0
#: Header lines (and stderr reads) are at most this long.
_LINE_LIMIT: Final = 64 * 1024
#: How much of the server's stderr is kept for the message when it dies.
_STDERR_TAIL: Final = 2048

_CLIENT_CAPABILITIES: Final = {
    "general": {"positionEncodings": ["utf-16"]},
    "workspace": {"configuration": True, "workspaceFolders": True},
    "window": {"workDoneProgress": True},
    "textDocument": {
        "synchronization": {"dynamicRegistration": False, "didSave": False},
        "completion": {"completionItem": {"snippetSupport": False, "documentationFormat": ["markdown", "plaintext"]}},
        "hover": {"contentFormat": ["markdown", "plaintext"]},
        "definition": {"linkSupport": True},
        "publishDiagnostics": {"versionSupport": True},
    },
}


def resolve(command: list[str]) -> str | None:
    """The executable of ``command``: a path as given, a bare name on PATH or next to the host's Python."""
    program = command[0]
    if os.sep in program:
        return program if os.access(program, os.X_OK) else None
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), str(Path(sys.executable).parent)])
    return shutil.which(program, path=search)


def _section(settings: dict[str, Any], section: str | None) -> Any:
    value: Any = settings
    for key in (section or "").split(".") if section else ():
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


class LanguageServer:
    """The server of ``language`` for the workspace at ``root``; ``connection()`` starts it on first use.

    ``on_notification(server, method, params)`` gets the server's notifications
    (diagnostics); ``on_started(server)`` runs each time a process is initialized
    (``generation`` counts them), so the caller can reopen its documents.
    """

    def __init__(
        self,
        language: str,
        spec: ServerSpec,
        root: Path,
        options: LspOptions,
        *,
        on_notification: Callable[[LanguageServer, str, Any], None],
        on_started: Callable[[LanguageServer], None],
    ) -> None:
        self.language = language
        self.spec = spec
        self.root = root
        self.options = options
        self.name = f"the {language} language server ({' '.join(spec.command)})"
        self.state: ServerState = "stopped"
        self.generation = 0
        self.restarts = 0
        self.last_error = ""
        self.pid: int | None = None
        self.capabilities: dict[str, Any] = {}
        self._on_notification = on_notification
        self._on_started = on_started
        self._connection: Connection | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._stderr = b""
        self._changed = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._policy = RetryPolicy(
            max_attempts=options.max_restarts + 1, backoff_initial=0.1, backoff_multiplier=2.0, backoff_max=5.0
        )

    @property
    def current(self) -> Connection | None:
        """The connection of the running process, or None while it is not running."""
        if self.state == "running" and self._connection is not None and not self._connection.closed.done():
            return self._connection
        return None

    @property
    def incremental(self) -> bool:
        """Whether the server takes ranged changes (``TextDocumentSyncKind.Incremental``) rather than whole texts."""
        sync = self.capabilities.get("textDocumentSync")
        kind = sync.get("change") if isinstance(sync, dict) else sync
        return kind == 2

    def _set_state(self, state: ServerState) -> None:
        self.state = state
        self._changed.set()
        self._changed = asyncio.Event()

    async def connection(self) -> Connection:
        """The running server's connection, starting it or waiting for its restart if need be."""
        if self._stopping:
            raise LanguageServerError(f"{self.name} is stopped: the host is stopping.")
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name=f"lsp:{self.language}:{self.root}")
        deadline = time.monotonic() + self.options.request_timeout
        while True:
            if (current := self.current) is not None:
                return current
            if self.state in ("failed", "stopped") and self._supervisor.done():
                raise LanguageServerError(self._failure())
            changed = self._changed
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    await changed.wait()
            except TimeoutError:
                raise LanguageServerError(
                    f"{self.name} did not start within {self.options.request_timeout:g} s"
                    f" (components.lsp.options.request_timeout){self._said()}."
                ) from None

    def _failure(self) -> str:
        return (
            f"{self.name} cannot serve: {self.last_error}. Fix or install it, or set"
            f" components.lsp.options.servers.{self.language}.command."
        )

    def _said(self) -> str:
        tail = self._stderr.decode("utf-8", "replace").strip().splitlines()
        return f"; it said: {tail[-1]}" if tail else ""

    async def _supervise(self) -> None:
        attempt = 0
        while not self._stopping:
            started = time.monotonic()
            self._set_state("starting" if attempt == 0 else "restarting")
            try:
                reason = await self._run_once()
            except FileNotFoundError as error:
                self.last_error = str(error)
                break
            except (LanguageServerError, OSError) as error:
                reason = str(error)
            finally:
                await self._kill()
            if self._stopping:
                break
            attempt = 1 if time.monotonic() - started > _STABLE_AFTER else attempt + 1
            self.last_error = reason
            if attempt > self.options.max_restarts:
                self.last_error = (
                    f"it stopped {attempt} time{'s' if attempt > 1 else ''} in a row, last because {reason}"
                )
                break
            self.restarts += 1
            log.warning("%s stopped (%s); restart %d", self.name, reason, attempt)
            self._set_state("restarting")
            await asyncio.sleep(self._policy.delay(attempt + 1))
        self._set_state("stopped" if self._stopping else "failed")

    async def _run_once(self) -> str:
        """Start the process, initialize it, and wait until it goes; return why it went."""
        executable = resolve(self.spec.command)
        if executable is None:
            raise FileNotFoundError(f"{self.spec.command[0]!r} was not found on PATH or next to {sys.executable}")
        self._stderr = b""
        self._process = process = await asyncio.create_subprocess_exec(
            *dying_with_parent([executable, *self.spec.command[1:]]),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.root,
            limit=_LINE_LIMIT,
        )
        self.pid = process.pid
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        stderr = asyncio.create_task(self._drain_stderr(process.stderr))
        self._connection = connection = Connection(
            process.stdout,
            process.stdin,
            name=self.name,
            max_message=self.options.max_message_bytes,
            on_notification=lambda method, params: self._on_notification(self, method, params),
            on_request=self._answer,
        )
        try:
            await self._initialize(connection)
            self.generation += 1
            self._set_state("running")
            self._on_started(self)
            exited: asyncio.Future[Any] = asyncio.ensure_future(process.wait())
            await asyncio.wait([exited, connection.closed], return_when=asyncio.FIRST_COMPLETED)
            exited.cancel()
            if process.returncode is not None:
                return f"it exited with {_how(process.returncode)}{self._said()}"
            return f"{connection.closed.result()}{self._said()}"
        finally:
            await connection.aclose()
            stderr.cancel()

    async def _initialize(self, connection: Connection) -> None:
        folder = {"uri": self.root.as_uri(), "name": self.root.name or str(self.root)}
        params = {
            "processId": os.getpid(),
            "clientInfo": {"name": "symphony"},
            "rootUri": folder["uri"],
            "rootPath": str(self.root),
            "workspaceFolders": [folder],
            "initializationOptions": self.spec.initialization_options,
            "capabilities": _CLIENT_CAPABILITIES,
        }
        try:
            result = await connection.request("initialize", params, timeout=self.options.request_timeout)
        except LanguageServerError as error:
            raise LanguageServerError(f"initialize failed: {error}{self._said()}") from None
        self.capabilities = result.get("capabilities", {}) if isinstance(result, dict) else {}
        connection.notify("initialized", {})
        if self.spec.settings:
            connection.notify("workspace/didChangeConfiguration", {"settings": self.spec.settings})

    async def _answer(self, method: str, params: Any) -> Any:
        """Requests from the server: its configuration, progress tokens, registrations."""
        if method == "workspace/configuration":
            items = params.get("items", []) if isinstance(params, dict) else []
            return [_section(self.spec.settings, item.get("section")) for item in items]
        if method == "workspace/workspaceFolders":
            return [{"uri": self.root.as_uri(), "name": self.root.name or str(self.root)}]
        if method == "window/showDocument":
            return {"success": False}
        if method in (
            "window/workDoneProgress/create",
            "client/registerCapability",
            "client/unregisterCapability",
            "window/showMessageRequest",
            "workspace/codeLens/refresh",
            "workspace/semanticTokens/refresh",
            "workspace/inlayHint/refresh",
            "workspace/diagnostic/refresh",
        ):
            return None
        raise RemoteError(f"symphony does not implement {method}", -32601)

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        """Keep the tail of what the server writes to stderr, for the message when it dies."""
        while chunk := await stream.read(4096):
            self._stderr = (self._stderr + chunk)[-_STDERR_TAIL:]
            log.debug("%s: %s", self.name, chunk.decode("utf-8", "replace").rstrip())

    async def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def stop(self) -> None:
        """``shutdown`` and ``exit``, then kill what has not exited within the grace period."""
        self._stopping = True
        connection, process = self._connection, self._process
        if self.state == "running" and connection is not None and process is not None:
            with contextlib.suppress(LanguageServerError):
                await connection.request("shutdown", None, timeout=_STOP_GRACE)
                connection.notify("exit", None)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_STOP_GRACE):
                    await process.wait()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await self._kill()
        self._set_state("stopped")


def _how(returncode: int) -> str:
    return f"signal {-returncode}" if returncode < 0 else f"status {returncode}"
