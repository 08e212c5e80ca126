"""The syntax of permission targets: path globs as regular expressions, and ``host[:port]``.

Apart from the permission rules so that the permission types can check a
target when it is parsed (the rules import the types, not the reverse): a glob
that cannot become a regular expression, or a port that is not one, is a
syntax error of the permission, never a ``re.error`` or ``ValueError``
wherever the grant is used later.

``*`` and ``?`` stay within one path segment, ``**`` spans segments (``/x/**``
is ``/x`` and everything below it), ``[abc]``, ``[a-z]`` and ``[!abc]`` are
classes of one character other than ``/``.  As in :mod:`fnmatch`, a ``]``
right after ``[`` or ``[!`` is a member, a ``[`` without its ``]`` is a
literal character, and ``-`` first or last in a class is a member.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from ._exceptions import PermissionSyntaxError

__all__ = ["check_host", "glob_regex", "has_glob", "split_host"]

_GLOB_CHARS: Final = frozenset("*?[")
_MAX_PORT: Final = 65535

#: Possessive class quantifiers: '[!]' is a literal, not a class of '!' (which fnmatch agrees with).
_GLOB_TOKEN: Final = re.compile(r"(/\*\*(?=/|$)|\*\*|\*|\?|\[!?+\]?+[^\]]*+\])")


def has_glob(text: str) -> bool:
    return any(char in _GLOB_CHARS for char in text)


def _class_regex(pattern: str, token: str) -> str:
    """The regular expression of one ``[...]`` class; PermissionSyntaxError for a range that runs backwards."""
    body = token[1:-1]
    negated = body.startswith("!")
    body = body[1:] if negated else body
    members: list[str] = []
    index = 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == "-":
            low, high = body[index], body[index + 2]
            if low > high:
                raise PermissionSyntaxError(
                    f"Path pattern {pattern!r}: the character range {low}-{high} in {token!r} runs backwards;"
                    f" write it from low to high ('[{'!' if negated else ''}{high}-{low}]'), or list"
                    " the characters one by one."
                )
            members.append(f"{re.escape(low)}-{re.escape(high)}")
            index += 3
        else:
            members.append(re.escape(body[index]))
            index += 1
    return f"(?!/)[{'^' if negated else ''}{''.join(members)}]"


@functools.lru_cache(maxsize=4096)
def glob_regex(pattern: str) -> str:
    """The regular expression (for ``fullmatch``) of a path glob; PermissionSyntaxError if it is malformed."""
    out: list[str] = []
    for index, token in enumerate(_GLOB_TOKEN.split(pattern)):
        if index % 2 == 0:
            out.append(re.escape(token))
        elif token == "/**":
            out.append("(?:/.*)?")  # zero or more whole segments
        elif token == "**":
            out.append(".*")
        elif token == "*":
            out.append("[^/]*")
        elif token == "?":
            out.append("[^/]")
        else:
            out.append(_class_regex(pattern, token))
    return "".join(out)


def _port(text: str) -> int | None:
    """A port in 1..65535 written in ASCII digits (``int()`` also takes '²' and thousands of digits), or None."""
    if text.isascii() and text.isdigit() and len(text) <= 5 and 0 < int(text) <= _MAX_PORT:
        return int(text)
    return None


def _host_port(pattern: str) -> tuple[str, str, str]:
    """The lower-case text, its host and its port text (empty without a port)."""
    text = pattern.strip().lower().rstrip(".")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return text, host, rest[1:] if rest.startswith(":") else ""
    host, sep, port_text = text.rpartition(":")
    if not sep or host.count(":") or not port_text.isdigit():
        return text, text, ""
    return text, host, port_text


def split_host(pattern: str) -> tuple[str, int | None]:
    """``host[:port]`` (``[v6]:port`` for IPv6) as a lower-case host and an optional port.

    A port that is not one (see :func:`check_host`) is refused when the
    permission is parsed; should one get past that, the whole text is taken as
    the host, which no request's host equals: it grants nothing rather than every port.
    """
    text, host, port_text = _host_port(pattern)
    if not port_text:
        return host, None
    port = _port(port_text)
    return (host, port) if port is not None else (text, None)


def check_host(pattern: str) -> None:
    """PermissionSyntaxError if ``pattern`` names a port outside 1..65535 (or in digits other than 0-9)."""
    _, _, port_text = _host_port(pattern)
    if port_text and _port(port_text) is None:
        raise PermissionSyntaxError(
            f"Host {pattern!r}: the port {port_text!r} is not a number from 1 to 65535;"
            " write 'host:443', or the host alone for every port."
        )
