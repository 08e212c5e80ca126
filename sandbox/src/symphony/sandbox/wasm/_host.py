"""The host side of the WIT ``host`` interface: every guest request is checked, then served.

The runtime does not decide permissions and does not own a network client or a model
pool: the caller hands in a :data:`PermissionCheck` (the host's permission checker, or an
allow-list in tests) and :class:`HostServices` that perform allowed requests. This module
only puts them in the right order (check first, always), turns every refusal into the
WIT ``host-error`` a guest can handle, and counts what happened. The component and the
core-module bindings both call :class:`HostBridge`, so the two kinds of guest get the
same rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal, Protocol, TypeAlias, TypeVar
from urllib.parse import urlsplit

import msgspec

from symphony.hookspecs import ModelAccess, NetworkAccess, Permission, PermissionDeniedError, one_line

__all__ = [
    "HostBridge",
    "HostCallRefused",
    "HostServices",
    "HttpRequest",
    "HttpResponse",
    "LogLevel",
    "PermissionCheck",
]

LogLevel: TypeAlias = Literal["debug", "info", "warning", "error"]
#: Raises PermissionDeniedError (with a message naming the permission and how to grant it)
#: when ``permission`` is not both declared and granted; returns None when it is.
PermissionCheck: TypeAlias = Callable[[Permission], None]

_LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_T = TypeVar("_T")


class HttpRequest(msgspec.Struct, frozen=True, kw_only=True):
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


class HttpResponse(msgspec.Struct, frozen=True, kw_only=True):
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


class HostServices(Protocol):
    """Performs requests the permission check allowed (e.g. with httpx, or the model pool)."""

    def http_request(self, request: HttpRequest) -> HttpResponse: ...

    def model_call(self, model: str, input: str) -> str: ...


class HostCallRefused(Exception):
    """A host function did not do what the guest asked; ``kind`` is the WIT host-error case."""

    def __init__(self, kind: Literal["denied", "failed"], message: str) -> None:
        super().__init__(message)
        self.kind: Literal["denied", "failed"] = kind
        self.message = message


class HostBridge:
    """One extension's view of the host: its name, its permission check, its services."""

    def __init__(
        self,
        extension: str,
        check: PermissionCheck,
        services: HostServices | None,
        *,
        log_bytes: int,
    ) -> None:
        self.extension = extension
        self.check = check
        self.services = services
        self.log_bytes = log_bytes
        self.logger = logging.getLogger(f"symphony.extensions.{extension}")
        self.host_calls = 0
        self.denials = 0
        self.last_denial: str | None = None

    # -- the WIT functions ------------------------------------------------------------

    def log(self, level: str, message: str) -> None:
        """Log under the extension's name. Not permission-checked: it reaches nothing, and
        it is bounded (lines cut at ``log_bytes``) so a guest cannot flood the host's log, and kept one
        line (controls escaped) so it cannot forge the host's lines or drive its terminal."""
        self.host_calls += 1
        if len(message) > self.log_bytes:
            message = message[: self.log_bytes] + f"... [cut at {self.log_bytes} characters]"
        self.logger.log(_LEVELS.get(level, logging.INFO), "%s", one_line(message))

    def http_request(self, request: HttpRequest) -> HttpResponse:
        self.host_calls += 1
        try:
            parts = urlsplit(request.url)
        except ValueError as exc:  # e.g. an unclosed IPv6 bracket
            raise HostCallRefused("failed", f"URL {request.url!r} is not a valid URL: {exc}") from None
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise HostCallRefused("failed", f"URL {request.url!r} is not an absolute http:// or https:// URL")
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError as exc:
            raise HostCallRefused("failed", f"URL {request.url!r} has an invalid port: {exc}") from None
        name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6 literal
        host = name if port == _DEFAULT_PORTS[parts.scheme] else f"{name}:{port}"
        self._check(NetworkAccess(hosts=(host,)))
        services = self.services
        if services is None:
            raise HostCallRefused("failed", "this host offers no network service to wasm extensions")
        return self._serve(lambda: services.http_request(request))

    def model_call(self, model: str, input: str) -> str:
        self.host_calls += 1
        self._check(ModelAccess(models=(model,)))
        services = self.services
        if services is None:
            raise HostCallRefused("failed", "this host offers no model service to wasm extensions")
        return self._serve(lambda: services.model_call(model, input))

    # -- helpers ----------------------------------------------------------------------

    def _check(self, permission: Permission) -> None:
        try:
            self.check(permission)
        except PermissionDeniedError as exc:
            self._deny(str(exc))
        except Exception as exc:
            # Fail closed: a broken checker must not become an open door.
            self._deny(f"the permission check failed ({type(exc).__name__}: {exc}); denied")

    def _deny(self, message: str) -> None:
        self.denials += 1
        self.last_denial = message
        self.logger.warning("denied: %s", message)
        raise HostCallRefused("denied", message)

    @staticmethod
    def _serve(call: Callable[[], _T]) -> _T:
        try:
            return call()
        except HostCallRefused:
            raise
        except Exception as exc:
            raise HostCallRefused("failed", f"{type(exc).__name__}: {exc}") from None
