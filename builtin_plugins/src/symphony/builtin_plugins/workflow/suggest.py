""" "Did you mean …?": the closest known name to a misspelt one, for problem messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest of ``known`` (difflib's ratio of at least 0.6), else ``""``.

    Only ever called on the error path, so scanning every known name is fine.
    """
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""
