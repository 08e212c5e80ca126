""" "Did you mean …?": the closest known name to a misspelt one, for problem messages."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable

__all__ = ["did_you_mean", "known_and_closest"]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest of ``known`` (difflib's ratio of at least 0.6), else ``""``.

    Only ever called on the error path, so scanning every known name is fine.
    """
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def known_and_closest(name: str, known: Collection[str], label: str, empty: str = "none") -> str:
    """`` (LABEL: a, b). Did you mean 'a'?``: what there is, then the closest to ``name`` if any is close."""
    return f" ({label}: {', '.join(sorted(known)) or empty}).{did_you_mean(name, known)}"
