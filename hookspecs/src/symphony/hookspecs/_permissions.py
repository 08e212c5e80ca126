"""Permissions: what an extension asks for and what a user or policy grants.

The seed's hierarchy (M4.2) as tagged msgspec Structs: a :data:`Permission` is
a FileAccess, NetworkAccess, SystemAccess or ModelAccess.  A manifest's
``[capabilities]`` table *declares* permissions (:class:`Capabilities`, which
accepts the seed's short forms); grants are the same types, stored apart from
the manifest.  Every permission also has one line of text, used by the CLI
(``symphony ext grant NAME file:read:~/notes/**``), in errors and in the audit
log; :func:`parse_permission` and :func:`format_permission` convert.

Text forms:

- ``file:<scope>:<path pattern>[:<op>,<op>...]`` (scope read|write|execute|admin;
  a pattern is an absolute or ``~``-relative glob, or a named location:
  ``config``, ``cache``, ``data``, ``workspace``, ``temp``)
- ``network:<host>[:<port>]`` (``*.example.com`` matches subdomains)
- ``system:<capability>`` (processes | environment | devices)
- ``model:<model id>`` (``*`` for any model)
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, get_args

import msgspec

from ._base import Base
from ._exceptions import PermissionSyntaxError
from ._patterns import check_host, compile_glob

__all__ = [
    "NAMED_LOCATIONS",
    "SCOPE_OPERATIONS",
    "AccessScope",
    "Capabilities",
    "FileAccess",
    "FileOperation",
    "FileRule",
    "ModelAccess",
    "ModelBudget",
    "NetworkAccess",
    "Permission",
    "SystemAccess",
    "SystemCapability",
    "format_permission",
    "parse_permission",
]

AccessScope: TypeAlias = Literal["read", "write", "execute", "admin"]
FileOperation: TypeAlias = Literal["read", "list", "write", "create", "delete", "execute"]
SystemCapability: TypeAlias = Literal["processes", "environment", "devices"]

#: The operations a scope allows when a permission lists none.  Writing does not imply
#: reading (as Deno's --allow-write does not imply --allow-read): an extension that reads
#: back what it writes asks for both scopes, or for ``admin``.
SCOPE_OPERATIONS: Final[dict[str, tuple[str, ...]]] = {
    "read": ("read", "list"),
    "write": ("list", "write", "create", "delete"),
    "execute": ("read", "list", "execute"),
    "admin": ("read", "list", "write", "create", "delete", "execute"),
}

#: Path names the host resolves per extension (its own config, cache and data
#: directories, the user's workspace, a private temporary directory).
NAMED_LOCATIONS: Final = ("config", "cache", "data", "workspace", "temp")

_SCOPES: Final = get_args(AccessScope)
_OPERATIONS: Final = get_args(FileOperation)
_SYSTEM: Final = get_args(SystemCapability)


class FileRule(Base, frozen=True):
    """The full form of a ``file_access`` entry in a manifest."""

    scope: AccessScope
    paths: tuple[str, ...]
    operations: tuple[FileOperation, ...] = ()


class FileAccess(Base, frozen=True, tag="file", tag_field="kind"):
    """Access to files matching ``paths``; ``operations`` empty means all ``scope`` allows."""

    scope: AccessScope
    paths: tuple[str, ...]
    operations: tuple[FileOperation, ...] = ()

    def allowed_operations(self) -> tuple[str, ...]:
        return self.operations or SCOPE_OPERATIONS[self.scope]


class NetworkAccess(Base, frozen=True, tag="network", tag_field="kind"):
    """Requests to ``hosts`` (``name``, ``name:port`` or ``*.domain``), always mediated by the host."""

    hosts: tuple[str, ...]


class SystemAccess(Base, frozen=True, tag="system", tag_field="kind"):
    """Process creation, the host's environment, or devices."""

    capabilities: tuple[SystemCapability, ...]


class ModelBudget(Base, frozen=True):
    """Limits per workflow run on the model calls the host mediates; None means unlimited."""

    calls: int | None = None
    tokens: int | None = None
    cost: float | None = None


class ModelAccess(Base, frozen=True, tag="model", tag_field="kind"):
    """Calls to ``models`` (``*`` for any), optionally within a budget."""

    models: tuple[str, ...]
    budget: ModelBudget | None = None


Permission: TypeAlias = FileAccess | NetworkAccess | SystemAccess | ModelAccess


class Capabilities(Base, frozen=True):
    """A manifest's ``[capabilities]``: what the extension asks for (never a grant)."""

    model_access: tuple[str, ...] = ()
    network_access: tuple[str, ...] = ()
    file_access: tuple[str | FileRule, ...] = ()
    system_access: tuple[SystemCapability, ...] = ()

    def permissions(self) -> tuple[Permission, ...]:
        """The declared permissions, short forms expanded; PermissionSyntaxError if one is malformed."""
        declared: list[Permission] = [
            _file_short_form(e) if isinstance(e, str) else _file_rule(e) for e in self.file_access
        ]
        if self.network_access:
            _check_hosts(self.network_access)
            declared.append(NetworkAccess(hosts=self.network_access))
        if self.system_access:
            declared.append(SystemAccess(capabilities=self.system_access))
        if self.model_access:
            declared.append(ModelAccess(models=self.model_access))
        return tuple(declared)


def _check_paths(paths: tuple[str, ...]) -> tuple[str, ...]:
    """``paths``, or PermissionSyntaxError for a glob that is malformed (a range that runs backwards)."""
    for path in paths:
        compile_glob(path)
    return paths


def _check_hosts(hosts: tuple[str, ...]) -> tuple[str, ...]:
    """``hosts``, or PermissionSyntaxError for a port that is not one."""
    for host in hosts:
        check_host(host)
    return hosts


def _file_rule(rule: FileRule) -> FileAccess:
    return FileAccess(scope=rule.scope, paths=_check_paths(rule.paths), operations=rule.operations)


def _file_short_form(text: str) -> FileAccess:
    """The seed's ``"read:config"``: a scope and one path pattern or named location."""
    scope, sep, path = text.partition(":")
    if not sep or scope not in _SCOPES or not path:
        raise PermissionSyntaxError(
            f"file_access entry {text!r} is not '<scope>:<path>' with scope one of {', '.join(_SCOPES)}"
            " (e.g. 'read:config' or 'write:~/notes/**'), nor a table with scope, paths and operations."
        )
    return FileAccess(scope=scope, paths=_check_paths((path,)))  # type: ignore[arg-type]  # checked against _SCOPES above


_FORMS: Final = (
    "file:<read|write|execute|admin>:<path>[:<op>,...]",
    "network:<host>[:<port>]",
    f"system:<{'|'.join(_SYSTEM)}>",
    "model:<model id>",
)


def _syntax(text: str, why: str) -> PermissionSyntaxError:
    return PermissionSyntaxError(f"Permission {text!r}: {why}. Accepted forms: {'; '.join(_FORMS)}.")


def parse_permission(text: str) -> Permission:
    """The permission one line of text names (see the module docstring)."""
    kind, sep, rest = text.strip().partition(":")
    if not sep or not rest:
        raise _syntax(text, "expected '<kind>:<target>'")
    if kind == "file":
        scope, sep, path = rest.partition(":")
        if scope not in _SCOPES:
            raise _syntax(text, f"unknown scope {scope!r}")
        if not sep or not path:
            raise _syntax(text, "missing the path pattern")
        operations: tuple[str, ...] = ()
        head, _, tail = path.rpartition(":")
        if head and tail and all(op in _OPERATIONS for op in tail.split(",")):
            path, operations = head, tuple(tail.split(","))
        return msgspec.convert({"scope": scope, "paths": _check_paths((path,)), "operations": operations}, FileAccess)
    if kind == "network":
        return NetworkAccess(hosts=_check_hosts((rest,)))
    if kind == "system":
        if rest not in _SYSTEM:
            raise _syntax(text, f"unknown system capability {rest!r}")
        return SystemAccess(capabilities=(rest,))  # type: ignore[arg-type]  # checked against _SYSTEM above
    if kind == "model":
        return ModelAccess(models=(rest,))
    raise _syntax(text, f"unknown kind {kind!r}")


def format_permission(permission: Permission) -> list[str]:
    """One text line per target of ``permission`` (the inverse of :func:`parse_permission`)."""
    if isinstance(permission, FileAccess):
        ops = f":{','.join(permission.operations)}" if permission.operations else ""
        return [f"file:{permission.scope}:{path}{ops}" for path in permission.paths]
    if isinstance(permission, NetworkAccess):
        return [f"network:{host}" for host in permission.hosts]
    if isinstance(permission, SystemAccess):
        return [f"system:{capability}" for capability in permission.capabilities]
    return [f"model:{model}" for model in permission.models]
