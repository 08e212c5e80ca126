"""``[components.lsp.options]``: which language server serves which files, and the client's limits.

A server is named by its LSP language id::

    [components.lsp.options.servers.rust]
    command = ["rust-analyzer"]
    suffixes = [".rs"]

The servers given are added to the default (``python``: jedi-language-server on
``.py`` and ``.pyi``); giving ``python`` replaces that one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import msgspec

from symphony.hookspecs import ConfigurationError

__all__ = ["COMPONENT", "DEFAULT_SERVERS", "LspOptions", "ServerSpec"]

COMPONENT: Final = "lsp"


class ServerSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One language server: how to start it and which files it serves."""

    #: The server's command line (no shell); a bare name is looked up on PATH and next to the host's Python.
    command: list[str]
    #: File suffixes (with the dot) of the buffers it serves.
    suffixes: list[str]
    #: Sent as ``initializationOptions`` in ``initialize``.
    initialization_options: dict[str, Any] = msgspec.field(default_factory=dict)
    #: What ``workspace/configuration`` answers: a section name (``"pylsp"``) to its settings.
    settings: dict[str, Any] = msgspec.field(default_factory=dict)
    #: The server counts ``character`` in code points in its requests and answers, whatever encoding it announces;
    #: the client converts from and to the buffer's UTF-16 (document sync stays in the announced encoding).
    counts_code_points: bool = False
    #: Files or folders whose presence marks a workspace root (the server's ``rootUri``), nearest first.
    root_markers: list[str] = msgspec.field(default_factory=lambda: [".git", "pyproject.toml", "setup.py"])


#: Python through jedi-language-server: small, pure Python, and it reports syntax errors on open and change
#: without plugins (python-lsp-server needs pyflakes or pycodestyle for that).  It announces UTF-16 and applies
#: edits in UTF-16 (pygls), but hands a request's ``character`` to jedi as a code-point column (0.47).
DEFAULT_SERVERS: Final = {
    "python": ServerSpec(command=["jedi-language-server"], suffixes=[".py", ".pyi"], counts_code_points=True)
}


class LspOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The servers by language, and how long and how much the client waits for and takes from them."""

    #: Language id to server; added to (or replacing) the default Python server.
    servers: dict[str, ServerSpec] = msgspec.field(default_factory=dict)
    #: Seconds a request (completion, hover, definition, initialize) may take before it fails.
    request_timeout: float = 30.0
    #: Seconds ``diagnostics()`` waits for the server's diagnostics of the buffer's current revision.
    diagnostics_wait: float = 5.0
    #: The largest message accepted from a server, in bytes; a larger one disconnects it (it is restarted).
    max_message_bytes: int = 64 * 1024 * 1024
    #: Restarts in a row allowed for a server that keeps dying before it is reported failed.
    max_restarts: int = 5

    def __post_init__(self) -> None:
        for key in ("request_timeout", "diagnostics_wait"):
            if getattr(self, key) <= 0:
                raise ConfigurationError(f"components.lsp.options.{key} must be above 0 seconds.")
        if self.max_message_bytes < 1024:
            raise ConfigurationError("components.lsp.options.max_message_bytes must be at least 1024.")
        for language, spec in self.servers.items():
            if not spec.command:
                raise ConfigurationError(f"components.lsp.options.servers.{language}.command is empty.")
            bad = [suffix for suffix in spec.suffixes if not suffix.startswith(".")]
            if bad:
                raise ConfigurationError(
                    f"components.lsp.options.servers.{language}.suffixes must start with a dot, found {bad}."
                )

    @property
    def all_servers(self) -> dict[str, ServerSpec]:
        return {**DEFAULT_SERVERS, **self.servers}

    def language_of(self, path: Path) -> tuple[str, ServerSpec] | None:
        """The language and server configured for ``path``'s suffix, if any."""
        suffix = path.suffix.lower()
        for language, spec in self.all_servers.items():
            if suffix in (s.lower() for s in spec.suffixes):
                return language, spec
        return None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> LspOptions:
        try:
            return msgspec.convert(dict(options), cls)
        except msgspec.ValidationError as error:
            where = str(error).replace("`$.", "`components.lsp.options.").replace("`$`", "`components.lsp.options`")
            raise ConfigurationError(f"Invalid language server options in [components.lsp.options]: {where}.") from None
