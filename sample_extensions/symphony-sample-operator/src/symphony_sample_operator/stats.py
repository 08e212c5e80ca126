"""``text-stats``: line and word counts and the most frequent words of a text."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from symphony.hookspecs import guest

_WORD = re.compile(r"[\w']+")


def text_stats(text: str, *, top: int = 3, lowercase: bool = True) -> dict[str, Any]:
    """Counts of ``text``; ``top`` most common words, ties broken alphabetically."""
    words = _WORD.findall(text.lower() if lowercase else text)
    ranked = sorted(Counter(words).items(), key=lambda item: (-item[1], item[0]))
    return {
        "lines": len(text.splitlines()),
        "words": len(words),
        "top_words": [word for word, _ in ranked[:top]],
    }


def run(operation: str, input: Mapping[str, Any]) -> dict[str, Any]:
    """The extension's entry: ``operation`` is the contributed node's name; its configuration comes from the host."""
    if operation != "text-stats":
        raise ValueError(f"sample-operator has no operation {operation!r}; it offers 'text-stats'")
    config = guest.config()
    return text_stats(str(input["text"]), top=int(config.get("top", 3)), lowercase=bool(config.get("lowercase", True)))
