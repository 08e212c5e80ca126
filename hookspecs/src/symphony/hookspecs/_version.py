"""The SDK's release version and the plugin API version the host speaks.

The two move separately: ``__version__`` is the distribution's release, while
``API_VERSION`` changes only when the hook catalogue, the ports or the domain
types change.  A minor bump adds (new hooks, new optional fields); a major bump
breaks.  Plugins state the range they need (``SYMPHONY_API = "^1.0"``) and the
host refuses a plugin whose range excludes ``API_VERSION``.
"""

from __future__ import annotations

import re
from typing import Final

from ._exceptions import ApiRangeSyntaxError

__all__ = ["API_VERSION", "ApiRange", "__version__"]

__version__ = "0.1.0"

#: (major, minor) of the hook catalogue, ports and domain types.
API_VERSION: Final[tuple[int, int]] = (1, 0)

#: ASCII digits: ``\d`` would also take other scripts' digits.
_CLAUSE = re.compile(r"^\s*(\^|~|>=|<=|==|!=|>|<|=)?\s*([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?\s*$")
#: Digits of one version number; a longer one is no version (and past 4,300 digits ``int()`` refuses it).
MAX_DIGITS: Final = 9

Version = tuple[int, int, int]


def _as_version(major: str, minor: str | None, patch: str | None) -> Version:
    return (int(major), int(minor or 0), int(patch or 0))


class ApiRange:
    """A version range in the forms plugin authors already know.

    Accepted: caret (``^1.2``: ``>=1.2,<2``), tilde (``~1.2``: ``>=1.2,<1.3``),
    comparisons (``>=1.0,<3``), exact (``1.0`` or ``==1.0``) and ``*`` (any).
    Clauses are separated by commas and must all hold.
    """

    __slots__ = ("_bounds", "text")

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        self._bounds: list[tuple[str, Version]] = []
        if self.text in ("", "*"):
            return
        for clause in self.text.split(","):
            match = _CLAUSE.match(clause)
            if match is None:
                raise ApiRangeSyntaxError(
                    f"Invalid version range {text!r}: clause {clause.strip()!r} is not a version."
                    " Use forms like '^1.0', '~1.2', '>=1.0,<2' or '1.0'."
                )
            op, major, minor, patch = match.groups()
            if any(len(number or "") > MAX_DIGITS for number in (major, minor, patch)):
                raise ApiRangeSyntaxError(
                    f"Invalid version range {text[:80]!r}: a version number in clause {clause.strip()[:80]!r}"
                    f" has more than {MAX_DIGITS} digits. Use forms like '^1.0', '~1.2', '>=1.0,<2' or '1.0'."
                )
            low = _as_version(major, minor, patch)
            if op == "^":
                high = (low[0] + 1, 0, 0) if low[0] else (0, low[1] + 1, 0)
                self._bounds += [(">=", low), ("<", high)]
            elif op == "~":
                high = (low[0], low[1] + 1, 0) if minor is not None else (low[0] + 1, 0, 0)
                self._bounds += [(">=", low), ("<", high)]
            elif op in (None, "=", "=="):
                self._bounds.append(("==" if patch else "==~", low))
            else:
                self._bounds.append((op, low))

    def contains(self, version: tuple[int, ...]) -> bool:
        """Whether ``version`` (``(major, minor)`` or ``(major, minor, patch)``) is in range."""
        have = (*version, 0, 0, 0)[:3]
        for op, bound in self._bounds:
            if op == "==~":  # "1.0" means any 1.0.x
                ok = have[:2] == bound[:2]
            elif op == "==":
                ok = have == bound
            elif op == "!=":
                ok = have != bound
            elif op == ">=":
                ok = have >= bound
            elif op == ">":
                ok = have > bound
            elif op == "<=":
                ok = have <= bound
            else:
                ok = have < bound
            if not ok:
                return False
        return True

    def __contains__(self, version: tuple[int, ...]) -> bool:
        return self.contains(version)

    def __repr__(self) -> str:
        return f"ApiRange({self.text!r})"

    def __str__(self) -> str:
        return self.text or "*"
