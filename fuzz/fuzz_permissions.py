"""Fuzz the permission text parser and the rules that compare permissions (globs, hosts, models).

Input: two permission texts separated by a NUL -- a grant and a declaration, as
``symphony ext grant`` and a manifest give them -- then a path.  Allowed: a
permission or PermissionSyntaxError; every rule (``covers``, ``is_denied_by``,
the glob of each path) must answer without raising, and a permission must
cover itself.
"""

from __future__ import annotations

from _harness import fuzz, instrumented

with instrumented(__name__):
    from symphony.hookspecs import FileAccess, PermissionSyntaxError, format_permission, parse_permission
    from symphony.hookspecs._permission_rules import compile_glob, covers, is_denied_by, single_targets

#: A permission text is one command-line argument; longer inputs add nothing but time.
_MAX_TEXT = 512


def _parse(text: str) -> object | None:
    try:
        return parse_permission(text)
    except PermissionSyntaxError as error:
        assert str(error)
        return None


def target(data: bytes) -> None:
    parts = data.decode("utf-8", "surrogateescape").split("\0")
    texts = [part[:_MAX_TEXT] for part in parts[:2]]
    path = parts[2][:_MAX_TEXT] if len(parts) > 2 else "/"
    permissions = [p for p in map(_parse, texts) if p is not None]
    for permission in permissions:
        for single in single_targets(permission):  # type: ignore[arg-type]
            assert covers(single, single), format_permission(single)
        if isinstance(permission, FileAccess):
            for pattern in permission.paths:
                assert isinstance(compile_glob(pattern).fullmatch(path), bool)
    if len(permissions) == 2:
        granted, declared = permissions
        assert isinstance(covers(granted, declared), bool)  # type: ignore[arg-type]
        assert isinstance(is_denied_by([texts[0]], declared), bool)  # type: ignore[arg-type]


if __name__ == "__main__":
    fuzz(target)
