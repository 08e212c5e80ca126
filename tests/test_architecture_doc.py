"""docs/architecture.md's table of hook kinds names every hookspec, and nothing that is not one."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from symphony.hookspecs import hooks

TEXT = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")


def table_names() -> list[str]:
    """The backquoted hook names (``symphony_provide_*`` is a pattern) of the ``| kind | hooks |`` table."""
    table = TEXT.split("| kind | hooks |", 1)[1].split("\n\n", 1)[0]
    return [name for row in table.splitlines()[2:] for name in re.findall(r"`(symphony_[\w*]+)`", row.split("|")[2])]


def hookspecs() -> set[str]:
    return {name for name in vars(hooks) if name.startswith("symphony_")}


def test_the_hook_table_names_every_hookspec() -> None:
    patterns = table_names()
    missing = sorted(h for h in hookspecs() if not any(fnmatch.fnmatchcase(h, p) for p in patterns))
    assert missing == []


def test_the_hook_table_names_no_hook_that_does_not_exist() -> None:
    stale = [p for p in table_names() if not fnmatch.filter(hookspecs(), p)]
    assert stale == []
