"""The syntax of permission targets: path globs, and ``host[:port]``.

Apart from the permission rules so that the permission types can check a
target when it is parsed (the rules import the types, not the reverse): a
malformed glob, or a port that is not one, is a syntax error of the
permission, never a ``re.error`` or ``ValueError`` wherever the grant is used
later.

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

__all__ = ["PathGlob", "check_host", "compile_glob", "has_glob", "split_host"]

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


#: Matching steps of one token: what it consumes, and where an empty match leads.
_LITERAL, _ONE, _CLASS, _SEGMENT_STAR, _ANY_STAR, _SUBTREE = range(6)
_UNBOUNDED: Final = (_SEGMENT_STAR, _ANY_STAR)


class PathGlob:
    """A compiled path glob; :meth:`fullmatch` answers in time linear in the path.

    A backtracking regular expression is quick for one wildcard, but a hostile
    manifest or grant with many (``*a*a*a*a*b``) made it take exponential time
    to fail, stalling the permission checker.  A glob with at most one ``*`` or
    ``**`` keeps its :attr:`regex` (callers may combine those into one); any
    other runs as an automaton over the set of positions it may be at
    (Thompson's construction): at most ``len(path) * len(pattern)`` steps.
    """

    __slots__ = ("_classes", "_compiled", "_kinds", "_literals", "pattern", "regex")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        kinds: list[int] = []
        literals: list[str] = []
        classes: list[re.Pattern[str] | None] = []
        regex: list[str] = []

        def add(kind: int, literal: str = "", char_class: re.Pattern[str] | None = None) -> None:
            kinds.append(kind)
            literals.append(literal)
            classes.append(char_class)

        for index, token in enumerate(_GLOB_TOKEN.split(pattern)):
            if index % 2 == 0:
                for char in token:
                    add(_LITERAL, char)
                regex.append(re.escape(token))
            elif token == "/**":
                add(_SUBTREE)  # nothing, or "/" and then anything: "/x/**" is "/x" and all below it
                add(_ANY_STAR)
                regex.append("(?:/.*)?")
            elif token == "**":
                add(_ANY_STAR)
                regex.append(".*")
            elif token == "*":
                add(_SEGMENT_STAR)
                regex.append("[^/]*")
            elif token == "?":
                add(_ONE)
                regex.append("[^/]")
            else:
                class_regex = _class_regex(pattern, token)
                add(_CLASS, char_class=re.compile(class_regex))
                regex.append(class_regex)
        self._kinds = tuple(kinds)
        self._literals = tuple(literals)
        self._classes = tuple(classes)
        #: The glob as a regular expression for ``fullmatch``, if it cannot backtrack badly (else None).
        self.regex = "".join(regex) if sum(kind in _UNBOUNDED for kind in kinds) <= 1 else None
        self._compiled = re.compile(self.regex) if self.regex is not None else None

    def __repr__(self) -> str:
        return f"PathGlob({self.pattern!r})"

    def _closure(self, states: set[int]) -> set[int]:
        """``states`` with every position reachable without consuming a character."""
        kinds, end = self._kinds, len(self._kinds)
        todo = list(states)
        while todo:
            state = todo.pop()
            if state == end:
                continue
            kind = kinds[state]
            skip = state + 2 if kind == _SUBTREE else state + 1 if kind in (_SEGMENT_STAR, _ANY_STAR) else None
            if skip is not None and skip not in states:
                states.add(skip)
                todo.append(skip)
        return states

    def fullmatch(self, path: str) -> bool:
        """Whether the whole of ``path`` matches the glob."""
        if self._compiled is not None:
            return self._compiled.fullmatch(path) is not None
        kinds, literals, classes, end = self._kinds, self._literals, self._classes, len(self._kinds)
        states = self._closure({0})
        for char in path:
            following: set[int] = set()
            for state in states:
                if state == end:
                    continue
                kind = kinds[state]
                if kind == _LITERAL:
                    if literals[state] == char:
                        following.add(state + 1)
                elif kind == _ANY_STAR:
                    following.add(state)
                elif kind == _SUBTREE:
                    if char == "/":
                        following.add(state + 1)
                elif char == "/":
                    continue  # '*', '?' and classes never match the separator
                elif kind == _SEGMENT_STAR:
                    following.add(state)
                elif kind == _ONE:
                    following.add(state + 1)
                else:
                    char_class = classes[state]
                    if char_class is not None and char_class.fullmatch(char):
                        following.add(state + 1)
            if not following:
                return False
            states = self._closure(following)
        return end in states


@functools.lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> PathGlob:
    """The compiled form of a path glob; PermissionSyntaxError if it is malformed."""
    return PathGlob(pattern)


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
