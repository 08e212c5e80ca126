"""What the checker is asked, who asks, and what it answers.

A request is one concrete access (a file path and operation, a host and port,
a system capability, a model id), never configuration: requests and decisions
are what the audit log records, so they must not carry secrets.  A URL's
credentials and query are dropped by :meth:`NetworkRequest.from_url`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias
from urllib.parse import urlsplit

import msgspec

from symphony.hookspecs import FileOperation, Manifest, Permission, PermissionDeniedError, SystemCapability

__all__ = [
    "Decision",
    "FileRequest",
    "ModelRequest",
    "NetworkRequest",
    "Request",
    "Rule",
    "Subject",
    "SubjectLookup",
    "SystemRequest",
    "request_kind",
    "request_permission",
    "request_target",
    "requests_for",
    "subject_from_manifest",
]


class _Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    pass


class FileRequest(_Request, frozen=True, tag="file"):
    """``operation`` on ``path`` (absolute; relative paths are taken from the workspace)."""

    path: str
    operation: FileOperation = "read"


class NetworkRequest(_Request, frozen=True, tag="network"):
    """A connection to ``host`` (and ``port``, when known)."""

    host: str
    port: int | None = None

    @classmethod
    def from_url(cls, url: str) -> NetworkRequest:
        """The host and port of ``url``; user info, path and query (where secrets live) are dropped."""
        parts = urlsplit(url)
        if not parts.hostname:
            raise ValueError(f"URL {url!r} has no host name; expected e.g. https://api.example.com/v1.")
        default = {"https": 443, "http": 80, "wss": 443, "ws": 80}.get(parts.scheme)
        return cls(host=parts.hostname, port=parts.port or default)


class SystemRequest(_Request, frozen=True, tag="system"):
    capability: SystemCapability


class ModelRequest(_Request, frozen=True, tag="model"):
    model: str


Request: TypeAlias = FileRequest | NetworkRequest | SystemRequest | ModelRequest

_FILE_SCOPE = {"read": "read", "list": "read", "write": "write", "create": "write", "delete": "write"}


def request_kind(request: Request) -> str:
    return request.__struct_config__.tag  # type: ignore[return-value]  # every request class sets a str tag


def request_target(request: Request) -> str:
    """The path, ``host[:port]``, capability or model id the request is about."""
    if isinstance(request, FileRequest):
        return request.path
    if isinstance(request, NetworkRequest):
        host = f"[{request.host}]" if ":" in request.host else request.host
        return host if request.port is None else f"{host}:{request.port}"
    if isinstance(request, SystemRequest):
        return request.capability
    return request.model


def request_permission(request: Request) -> str:
    """The narrowest permission text that would allow exactly this request."""
    if isinstance(request, FileRequest):
        scope = _FILE_SCOPE.get(request.operation, "execute")
        return f"file:{scope}:{request.path}:{request.operation}"
    return f"{request_kind(request)}:{request_target(request)}"


class Subject(msgspec.Struct, frozen=True, kw_only=True):
    """An extension as the checker sees it: its name, its publisher (manifest author), its declarations."""

    name: str
    publisher: str | None = None
    declared: tuple[Permission, ...] = ()


#: Finds an installed extension by name; raises LookupError when there is none.
SubjectLookup: TypeAlias = Callable[[str], Subject]

#: Why a decision went the way it did.
Rule: TypeAlias = Literal[
    "granted",
    "trusted",
    "learning",
    "not_declared",
    "not_granted",
    "policy",
    "budget",
    "unknown_extension",
    "stopped",  # a runtime stopped the extension (crash, limit, timeout, protocol garbage)
]


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The checker's answer; ``reason`` is a full sentence naming the extension, permission and fix."""

    allowed: bool
    extension: str
    kind: str
    permission: str
    target: str
    rule: Rule
    reason: str
    grant_command: str | None = None

    def raise_if_denied(self) -> Decision:
        """Return self if allowed, else raise PermissionDeniedError with :attr:`reason`."""
        if not self.allowed:
            raise PermissionDeniedError(self.reason)
        return self


def subject_from_manifest(manifest: Manifest) -> Subject:
    """The checker's view of an extension: its name, publisher (else author) and declarations."""
    info = manifest.extension
    return Subject(
        name=info.name, publisher=info.publisher or info.author, declared=manifest.capabilities.permissions()
    )


_PRIMARY_OPERATION: dict[str, tuple[str, ...]] = {"read": ("read",), "write": ("write",), "execute": ("execute",)}


def requests_for(permission: Permission) -> list[Request]:
    """The concrete requests a single-target permission stands for (what a runtime's callback passes).

    A file permission without operations asks for its scope's own operation
    (``read``, ``write``, ``execute``; ``admin`` asks for all of them).
    """
    from symphony.hookspecs import FileAccess, ModelAccess, NetworkAccess, SystemAccess, split_host

    if isinstance(permission, FileAccess):
        operations = permission.operations or _PRIMARY_OPERATION.get(permission.scope, permission.allowed_operations())
        return [FileRequest(path=path, operation=op) for path in permission.paths for op in operations]  # type: ignore[arg-type]
    if isinstance(permission, NetworkAccess):
        return [NetworkRequest(host=host, port=port) for host, port in map(split_host, permission.hosts)]
    if isinstance(permission, SystemAccess):
        return [SystemRequest(capability=capability) for capability in permission.capabilities]
    assert isinstance(permission, ModelAccess)
    return [ModelRequest(model=model) for model in permission.models]
