"""Permissions compiled for the hot path: one regex per file operation, sets and suffixes for hosts.

A :class:`Matcher` is built once per extension and per generation of the
grants (declared, granted and denied sets each get one), so a decision is a
few dictionary lookups or one ``re.fullmatch``.  File patterns are made
absolute here: ``~`` is expanded, a named location becomes the extension's
directory, and the pattern's literal directory is resolved (symlinks
included), because request paths are resolved the same way before matching.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from typing import Final

from symphony.hookspecs import (
    NAMED_LOCATIONS,
    FileAccess,
    ModelAccess,
    NetworkAccess,
    PathGlob,
    Permission,
    SystemAccess,
    compile_glob,
    has_glob,
    single_targets,
    split_host,
)

from ._locations import LocationResolver
from ._requests import FileRequest, NetworkRequest, Request, SystemRequest

__all__ = ["Matcher", "absolute_pattern"]

_OPERATIONS: Final = ("read", "list", "write", "create", "delete", "execute")


def absolute_pattern(pattern: str, extension: str, resolver: LocationResolver) -> str | None:
    """``pattern`` as an absolute glob with its literal directory resolved; None if it names nothing.

    That is a relative pattern, or one below a named location whose directory resolves
    outside that location.
    """
    if pattern.startswith("~"):
        pattern = os.path.expanduser(pattern)
    head, sep, rest = pattern.partition("/")
    base: str | None = None
    if head in NAMED_LOCATIONS:
        base = os.path.realpath(resolver.resolve(extension, head))
        pattern = f"{base}/{rest}" if sep and rest else f"{base}/**"
    if not os.path.isabs(pattern):
        return None
    segments = pattern.rstrip("/").split("/") or [""]
    literal = next((i for i, segment in enumerate(segments) if has_glob(segment)), len(segments))
    # A literal path's last name stays unresolved: granting /x/link must not grant where link points.
    cut = min(literal, len(segments) - 1)
    directory = os.path.realpath("/".join(segments[:cut]) or "/")
    if base is not None and os.path.commonpath((base, directory)) != base:
        return None  # '..' or a symlink the extension planted leads out of its own location: names nothing
    tail = "/".join(segments[cut:])
    return f"{directory.rstrip('/')}/{tail}" if tail else directory


class Matcher:
    """A compiled set of permissions for one extension; :meth:`allows` takes a normalised request."""

    __slots__ = (
        "_file",
        "_file_entries",
        "_file_globs",
        "_hosts",
        "_model_patterns",
        "_models",
        "_suffixes",
        "_system",
        "kinds",
    )

    def __init__(
        self,
        permissions: Iterable[Permission],
        extension: str,
        resolver: LocationResolver,
        memo: dict[str, str | None] | None = None,
    ) -> None:
        """Compile ``permissions``; ``memo`` shares resolved patterns between matchers built together."""
        memo = {} if memo is None else memo
        by_operation: dict[str, list[str]] = {op: [] for op in _OPERATIONS}
        self._file_entries: list[tuple[Permission, PathGlob, frozenset[str]]] = []
        #: Globs with several wildcards, matched one by one without backtracking (see PathGlob).
        self._file_globs: dict[str, list[PathGlob]] = {op: [] for op in _OPERATIONS}
        self._hosts: dict[str, set[int | None]] = {}
        self._suffixes: list[tuple[str, int | None, Permission]] = []
        self._models: set[str] = set()
        self._model_patterns: list[str] = []
        self._system: set[str] = set()
        self.kinds: set[str] = set()
        for permission in permissions:
            for single in single_targets(permission):
                self._add(single, extension, resolver, by_operation, memo)
        self._file = {
            op: re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
            for op, patterns in by_operation.items()
        }

    def _add(
        self,
        single: Permission,
        extension: str,
        resolver: LocationResolver,
        by_operation: dict[str, list[str]],
        memo: dict[str, str | None],
    ) -> None:
        if isinstance(single, FileAccess):
            self.kinds.add("file")
            pattern = single.paths[0]
            if pattern not in memo:
                memo[pattern] = absolute_pattern(pattern, extension, resolver)
            absolute = memo[pattern]
            if absolute is None:
                return  # a relative pattern names nothing; the manifest validator reports it
            glob = compile_glob(absolute)
            operations = frozenset(single.allowed_operations())
            for op in operations:
                if glob.regex is not None:
                    by_operation[op].append(glob.regex)
                else:
                    self._file_globs[op].append(glob)
            self._file_entries.append((single, glob, operations))
        elif isinstance(single, NetworkAccess):
            self.kinds.add("network")
            host, port = split_host(single.hosts[0])
            if host.startswith("*."):
                self._suffixes.append((host[1:], port, single))
            else:
                self._hosts.setdefault(host, set()).add(port)
        elif isinstance(single, SystemAccess):
            self.kinds.add("system")
            self._system.update(single.capabilities)
        elif isinstance(single, ModelAccess):
            self.kinds.add("model")
            model = single.models[0]
            if has_glob(model):
                self._model_patterns.append(model)
            else:
                self._models.add(model)

    def allows(self, request: Request) -> bool:
        """Whether any compiled permission covers ``request`` (file paths already resolved)."""
        if isinstance(request, FileRequest):
            regex = self._file.get(request.operation)
            if regex is not None and regex.fullmatch(request.path) is not None:
                return True
            return any(glob.fullmatch(request.path) for glob in self._file_globs.get(request.operation, ()))
        if isinstance(request, NetworkRequest):
            ports = self._hosts.get(request.host)
            if ports is not None and (None in ports or request.port in ports):
                return True
            return any(
                request.host.endswith(suffix) and (port is None or port == request.port)
                for suffix, port, _ in self._suffixes
            )
        if isinstance(request, SystemRequest):
            return request.capability in self._system
        return request.model in self._models or any(fnmatch.fnmatchcase(request.model, p) for p in self._model_patterns)

    def first_match(self, request: Request) -> Permission | None:
        """The first compiled single-target permission that covers ``request`` (slow path: denials only)."""
        if isinstance(request, FileRequest):
            for single, glob, operations in self._file_entries:
                if request.operation in operations and glob.fullmatch(request.path):
                    return single
            return None
        if isinstance(request, NetworkRequest):
            for suffix, port, single in self._suffixes:
                if request.host.endswith(suffix) and (port is None or port == request.port):
                    return single
            ports = self._hosts.get(request.host, set())
            if None in ports:
                return NetworkAccess(hosts=(request.host,))
            if request.port in ports:
                return NetworkAccess(hosts=(f"{request.host}:{request.port}",))
            return None
        if isinstance(request, SystemRequest):
            return SystemAccess(capabilities=(request.capability,)) if request.capability in self._system else None
        if request.model in self._models:
            return ModelAccess(models=(request.model,))
        pattern = next((p for p in self._model_patterns if fnmatch.fnmatchcase(request.model, p)), None)
        return ModelAccess(models=(pattern,)) if pattern is not None else None
