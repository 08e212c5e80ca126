"""Least privilege from observation: the smallest ``[capabilities]`` block covering recorded requests.

Run an extension with a checker in ``learn`` mode, then feed the audit
entries (or decisions) to :func:`learn_capabilities`.  The rules:

- file paths under the extension's own ``config``, ``cache``, ``data`` or
  ``temp`` directory become that named location (it is the extension's own);
  paths under the workspace are written ``workspace/...``, under the home
  directory ``~/...``;
- paths stay exact, except that :data:`COLLAPSE` or more files read in one
  directory become ``dir/*``, and a directory with patterns in
  :data:`COLLAPSE` or more subdirectories becomes ``dir/**``; never above
  two levels below ``/`` (so no ``/etc/*``, no ``/home/**``), never ``~/**``;
- operations read and list give the short form ``"read:<path>"``; write,
  create and delete a ``write`` entry and execute an ``execute`` entry (which
  also reads), in the full form with the operations listed unless they are
  exactly what the scope allows; a path read and written gets a ``read`` and a
  ``write`` entry (writing does not imply reading), never ``admin``; list
  joins the entry the path gets anyway;
- hosts keep the port seen; :data:`COLLAPSE` or more subdomains of one
  domain (of at least two labels) become ``*.domain``;
- model ids and system capabilities are listed as seen.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Final, Protocol

from symphony.hookspecs import SCOPE_OPERATIONS, split_host

from ._locations import LocationResolver

__all__ = ["COLLAPSE", "learn_capabilities"]

#: How many siblings it takes to replace them by a glob.
COLLAPSE: Final = 3

_PRIVATE: Final = ("config", "cache", "data", "temp")
_OPERATION_ORDER: Final = ("read", "list", "write", "create", "delete", "execute")
_SCOPE_OF: Final = {"read": "read", "write": "write", "create": "write", "delete": "write", "execute": "execute"}


class _Observed(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def permission(self) -> str: ...
    @property
    def target(self) -> str: ...


def _within(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` ("" for the root itself), or None if outside."""
    root = root.rstrip("/") or "/"
    if path == root:
        return ""
    prefix = root if root.endswith("/") else root + "/"
    return path[len(prefix) :] if path.startswith(prefix) else None


def _display(path: str, extension: str | None, resolver: LocationResolver | None) -> tuple[str, tuple[str, ...]]:
    """(prefix, parts): the prefix is a named location, ``~``, or ``/``."""
    if resolver is not None and extension is not None:
        for name in _PRIVATE:
            root = os.path.realpath(resolver.resolve(extension, name))
            if _within(path, root) is not None:
                return name, ()
        rel = _within(path, os.path.realpath(resolver.workspace))
        if rel is not None:
            return "workspace", tuple(p for p in rel.split("/") if p)
    rel = _within(path, os.path.realpath(os.path.expanduser("~")))
    if rel is not None and rel:
        return "~", tuple(rel.split("/"))
    return "/", tuple(p for p in path.split("/") if p)


def _min_depth(prefix: str) -> int:
    return {"/": 2, "~": 1}.get(prefix, 0)


def _collapse(prefix: str, paths: dict[tuple[str, ...], set[str]]) -> dict[tuple[str, ...], set[str]]:
    """Patterns (as parts; ``*``/``**`` as the last part) with their operations."""
    if prefix in _PRIVATE:
        return {(): set().union(*paths.values())}
    patterns: dict[tuple[str, ...], set[str]] = {}
    by_dir: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
    for parts in paths:
        by_dir[parts[:-1]].append(parts)
    for directory, files in by_dir.items():
        ops = set().union(*(paths[f] for f in files))
        if len(files) >= COLLAPSE and len(directory) >= _min_depth(prefix) and (directory or prefix == "workspace"):
            patterns[(*directory, "*")] = ops
        else:
            for f in files:
                patterns[f] = set(paths[f])
    changed = True
    while changed:
        changed = False
        children: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
        for pattern in patterns:
            directory = pattern[:-1]
            for depth in range(len(directory)):
                children[directory[:depth]].add(directory[: depth + 1])
        for directory, subdirs in sorted(children.items(), key=lambda item: -len(item[0])):
            if len(subdirs) >= COLLAPSE and len(directory) >= max(_min_depth(prefix), 1):
                under = [p for p in patterns if p[: len(directory)] == directory and p != (*directory, "**")]
                ops = set().union(*(patterns.pop(p) for p in under))
                patterns[(*directory, "**")] = ops | patterns.get((*directory, "**"), set())
                changed = True
                break
    return patterns


def _render_path(prefix: str, parts: tuple[str, ...]) -> str:
    if prefix == "/":
        return "/" + "/".join(parts)
    return "/".join((prefix, *parts)) if parts else prefix


def _scopes(ops: set[str]) -> dict[str, set[str]]:
    """``ops`` split by the scope that allows each: reading and writing are granted apart, never as admin."""
    groups: dict[str, set[str]] = defaultdict(set)
    for op in ops - {"list"}:
        groups[_SCOPE_OF[op]].add(op)
    if "execute" in groups and "read" in groups:
        groups["execute"] |= groups.pop("read")  # the execute scope reads too
    if "list" in ops:  # every scope lists: in the entry there is anyway
        groups[next((scope for scope in ("read", "execute", "write") if scope in groups), "read")].add("list")
    return groups


def _file_entries(observed: dict[str, set[str]], extension: str | None, resolver: LocationResolver | None) -> list[str]:
    by_prefix: dict[str, dict[tuple[str, ...], set[str]]] = defaultdict(dict)
    for path, ops in observed.items():
        prefix, parts = _display(path, extension, resolver)
        by_prefix[prefix].setdefault(parts, set()).update(ops)
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for prefix, paths in by_prefix.items():
        for parts, all_ops in _collapse(prefix, paths).items():
            for scope, ops in _scopes(all_ops).items():
                exact = scope == "read" or ops == set(SCOPE_OPERATIONS[scope])
                key = (scope, () if exact else tuple(op for op in _OPERATION_ORDER if op in ops))
                grouped[key].append(_render_path(prefix, parts))
    entries = []
    for (scope, operations), patterns in sorted(grouped.items()):
        if not operations:
            entries += [_string(f"{scope}:{pattern}") for pattern in sorted(patterns)]
        else:
            path_list = ", ".join(_string(p) for p in sorted(patterns))
            op_list = ", ".join(_string(op) for op in operations)
            entries.append(f"{{ scope = {_string(scope)}, paths = [{path_list}], operations = [{op_list}] }}")
    return entries


def _hosts(targets: set[str]) -> list[str]:
    parsed = [split_host(t) for t in targets]
    by_parent: dict[str, set[tuple[str, int | None]]] = defaultdict(set)
    for host, port in parsed:
        labels = host.split(".")
        if len(labels) >= 3 and not host.replace(".", "").isdigit():
            by_parent[".".join(labels[1:])].add((host, port))
    out: set[str] = set()
    collapsed: set[tuple[str, int | None]] = set()
    for parent, members in by_parent.items():
        if len({h for h, _ in members}) >= COLLAPSE:
            ports = {p for _, p in members}
            port = ports.pop() if len(ports) == 1 else None
            out.add(f"*.{parent}" + (f":{port}" if port is not None else ""))
            collapsed |= members
    for host, port in parsed:
        if (host, port) not in collapsed:
            name = f"[{host}]" if ":" in host else host
            out.add(name if port is None else f"{name}:{port}")
    return sorted(out)


def _string(value: str) -> str:
    return json.dumps(value)


def _array(key: str, items: list[str]) -> str:
    if not items:
        return ""
    if len(items) == 1 and not items[0].startswith("{"):
        return f"{key} = [{items[0]}]\n"
    body = "".join(f"    {item},\n" for item in items)
    return f"{key} = [\n{body}]\n"


def learn_capabilities(
    records: Iterable[_Observed],
    *,
    extension: str | None = None,
    resolver: LocationResolver | None = None,
) -> str:
    """The ``[capabilities]`` TOML table covering every recorded request (see the module docstring)."""
    files: dict[str, set[str]] = defaultdict(set)
    hosts: set[str] = set()
    models: set[str] = set()
    system: set[str] = set()
    count = 0
    for record in records:
        count += 1
        if record.kind == "file":
            operation = record.permission.rpartition(":")[2]
            files[str(PurePosixPath(record.target))].add(operation)
        elif record.kind == "network":
            hosts.add(record.target)
        elif record.kind == "model":
            models.add(record.target)
        elif record.kind == "system":
            system.add(record.target)
    who = f" of {extension}" if extension else ""
    text = f"# Learned from {count} recorded requests{who}; review before publishing.\n[capabilities]\n"
    text += _array("file_access", _file_entries(files, extension, resolver))
    text += _array("network_access", [_string(h) for h in _hosts(hosts)])
    text += _array("model_access", [_string(m) for m in sorted(models)])
    text += _array("system_access", [_string(s) for s in sorted(system)])
    return text
