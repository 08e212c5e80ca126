"""Static permission rules: does a grant cover a declaration, and which workflow nodes would be denied.

These are pure functions of permission values (no files, no host), so that the
workflow validator (a builtin plugin, which may import only the SDK) and the
host's permission checker agree on one meaning:

- a path pattern is a glob where ``*`` and ``?`` stay within one path segment,
  ``**`` spans segments (``/x/**`` is ``/x`` and everything below it), and a
  named location alone (``data``) is that whole directory (``data/**``);
- a host pattern ``*.example.com`` covers every subdomain (not the apex); a
  pattern without a port covers every port;
- a model pattern may use ``*`` (``*`` alone is any model).

:func:`covers` is conservative where globs meet globs: a declared glob is
covered by an equal grant, or by a grant ``P/**`` whose literal directory
``P`` contains the declared pattern.  Granting the exact text the manifest
declares (what every suggested ``symphony ext grant`` command does) always covers.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Final

from ._base import Base
from ._patterns import PathGlob, compile_glob, has_glob, split_host
from ._permissions import (
    NAMED_LOCATIONS,
    FileAccess,
    ModelAccess,
    NetworkAccess,
    Permission,
    SystemAccess,
    format_permission,
    parse_permission,
)

__all__ = [
    "PERMISSION_KINDS",
    "NodeDenial",
    "NodePermissions",
    "PathGlob",
    "compile_glob",
    "covers",
    "grant_command",
    "has_glob",
    "is_denied_by",
    "normalise_path_pattern",
    "permission_kind",
    "single_targets",
    "split_host",
    "workflow_permission_denials",
]

#: The four categories a policy can deny whole.
PERMISSION_KINDS: Final = ("file", "network", "system", "model")


def permission_kind(permission: Permission) -> str:
    """``file``, ``network``, ``system`` or ``model``: the tag of the permission."""
    if isinstance(permission, FileAccess):
        return "file"
    if isinstance(permission, NetworkAccess):
        return "network"
    if isinstance(permission, SystemAccess):
        return "system"
    return "model"


def normalise_path_pattern(pattern: str) -> str:
    """``~`` expanded, a lone named location widened to its tree, trailing slashes dropped."""
    if pattern.startswith("~"):
        pattern = os.path.expanduser(pattern)
    if pattern in NAMED_LOCATIONS:
        return f"{pattern}/**"
    return pattern.rstrip("/") or "/"


def _literal_prefix(pattern: str) -> str:
    """The directory part of ``pattern`` before its first glob segment."""
    segments = pattern.split("/")
    for index, segment in enumerate(segments):
        if has_glob(segment):
            return "/".join(segments[:index])
    return pattern


def _path_covers(granted: str, declared: str) -> bool:
    granted, declared = normalise_path_pattern(granted), normalise_path_pattern(declared)
    if granted == declared:
        return True
    if not has_glob(declared):
        return compile_glob(granted).fullmatch(declared)
    if granted.endswith("/**") and not has_glob(base := granted[:-3]):
        prefix = _literal_prefix(declared)
        return prefix == base or prefix.startswith(base + "/")
    return granted == "**"


def _host_covers(granted: str, declared: str) -> bool:
    g_host, g_port = split_host(granted)
    d_host, d_port = split_host(declared)
    if g_port is not None and g_port != d_port:
        return False
    if g_host == d_host:
        return True
    return g_host.startswith("*.") and d_host.endswith(g_host[1:])


def _model_covers(granted: str, declared: str) -> bool:
    if granted in (declared, "*"):
        return True
    return "*" not in declared and fnmatch.fnmatchcase(declared, granted)


def covers(granted: Permission, declared: Permission) -> bool:
    """Whether ``granted`` allows everything ``declared`` asks for (every target of it)."""
    if isinstance(declared, FileAccess):
        if not isinstance(granted, FileAccess):
            return False
        if not set(declared.allowed_operations()) <= set(granted.allowed_operations()):
            return False
        return all(any(_path_covers(g, d) for g in granted.paths) for d in declared.paths)
    if isinstance(declared, NetworkAccess):
        return isinstance(granted, NetworkAccess) and all(
            any(_host_covers(g, d) for g in granted.hosts) for d in declared.hosts
        )
    if isinstance(declared, SystemAccess):
        return isinstance(granted, SystemAccess) and set(declared.capabilities) <= set(granted.capabilities)
    return isinstance(granted, ModelAccess) and all(
        any(_model_covers(g, d) for g in granted.models) for d in declared.models
    )


def single_targets(permission: Permission) -> list[Permission]:
    """``permission`` split into one permission per target (path, host, capability, model)."""
    if isinstance(permission, ModelAccess):
        return [ModelAccess(models=(model,), budget=permission.budget) for model in permission.models]
    return [parse_permission(text) for text in format_permission(permission)]


def is_denied_by(deny: Iterable[str], permission: Permission) -> bool:
    """Whether a policy's ``deny`` entries (categories or permission texts) forbid ``permission``.

    A permission that merely overlaps a denied one (``network:*.example.com``
    against a denied ``network:evil.example.com``) is not forbidden as a whole;
    the checker still denies the overlapping requests one by one.
    """
    kind = permission_kind(permission)
    for entry in deny:
        if entry == kind:
            return True
        if ":" in entry and covers(parse_permission(entry), permission):
            return True
    return False


def grant_command(extension: str, permissions: Sequence[str]) -> str:
    """The shell command that grants ``permissions`` (text forms) to ``extension``, quoted for copy-paste."""
    return shlex.join(["symphony", "ext", "grant", extension, *permissions])


class NodePermissions(Base, frozen=True):
    """One workflow node's extension and what that extension's manifest declares."""

    node: str
    extension: str
    declared: tuple[Permission, ...] = ()


class NodeDenial(Base, frozen=True):
    """A node that would be denied: what is missing, what the policy forbids, and the fix."""

    node: str
    extension: str
    #: Declared but not granted (text forms); ``command`` grants them all.
    missing: tuple[str, ...] = ()
    #: Declared but forbidden by the distribution's policy: no grant helps.
    forbidden: tuple[str, ...] = ()
    command: str | None = None

    def message(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"not granted: {', '.join(self.missing)} (grant with `{self.command}`)")
        if self.forbidden:
            parts.append(f"forbidden by the distribution's policy: {', '.join(self.forbidden)}")
        return f"Node {self.node!r} (extension {self.extension!r}) would be denied; " + "; ".join(parts) + "."


def workflow_permission_denials(
    nodes: Iterable[NodePermissions],
    grants: Mapping[str, Sequence[Permission]],
    *,
    trusted: Collection[str] = (),
    deny: Sequence[str] = (),
) -> list[NodeDenial]:
    """Every node whose extension declares something not granted, or forbidden by policy.

    :param nodes: the workflow's extension-backed nodes and their declarations.
    :param grants: extension name -> granted permissions (user and policy grants together).
    :param trusted: extensions trusted by policy or the user: they need no grants.
    :param deny: the policy's ``deny`` entries (categories or permission texts).
    :returns: one :class:`NodeDenial` per failing node, in the order given.
    """
    denials = []
    verdicts: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for node in nodes:
        if node.extension not in verdicts:
            granted = grants.get(node.extension, ())
            missing: list[str] = []
            forbidden: list[str] = []
            for permission in node.declared:
                for target in single_targets(permission):
                    text = format_permission(target)[0]
                    if is_denied_by(deny, target):
                        forbidden.append(text)
                    elif node.extension not in trusted and not any(covers(g, target) for g in granted):
                        missing.append(text)
            verdicts[node.extension] = (tuple(missing), tuple(forbidden))
        missing_t, forbidden_t = verdicts[node.extension]
        if missing_t or forbidden_t:
            command = grant_command(node.extension, missing_t) if missing_t else None
            denials.append(
                NodeDenial(
                    node=node.node,
                    extension=node.extension,
                    missing=missing_t,
                    forbidden=forbidden_t,
                    command=command,
                )
            )
    return denials
