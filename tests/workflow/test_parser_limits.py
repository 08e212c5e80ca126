"""What a workflow's author or an extension's manifest writes cannot crash or hang the host.

A port type nested thousands of levels deep (the fuzzer's find in
fuzz/corpus/port_types) gets an answer instead of ``RecursionError``; a
regular expression that backtracks catastrophically ends at its timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from symphony.builtin_plugins.orchestra.operators import REGEX_TIMEOUT, regex_extract
from symphony.builtin_plugins.workflow.types import compatible
from symphony.hookspecs import ValidationError


def nested(depth: int, item: str) -> str:
    return "list[" * depth + item + "]" * depth


# -- port types ---------------------------------------------------------------------------------


def test_lists_nested_thousands_of_levels_deep_are_compared() -> None:
    assert compatible(nested(5000, "integer"), nested(5000, "number"))
    assert not compatible(nested(5000, "x"), nested(5000, "y"))


def test_a_list_nested_deeper_than_the_other_side_meets_it_as_json_only() -> None:
    assert compatible(nested(3000, "string"), nested(2999, "json"))
    assert not compatible(nested(3000, "string"), nested(2999, "string"))


def test_spaces_inside_the_brackets_of_a_deep_list_do_not_matter() -> None:
    assert compatible("list[ " * 2000 + "integer" + " ]" * 2000, nested(2000, "number"))


# -- regex-extract ------------------------------------------------------------------------------

CATASTROPHIC = "(a|aa)+$"  # exponential backtracking on 'aaa...b', in `re` and in `regex` alike


async def extract(config: dict[str, Any], text: str) -> dict[str, Any]:
    return await regex_extract(config)({"text": text})


async def test_a_pattern_that_backtracks_catastrophically_ends_at_its_timeout_with_a_clear_error() -> None:
    with pytest.raises(ValidationError, match=r"found no answer within 0\.05 s .* raise config\.timeout"):
        await extract({"pattern": CATASTROPHIC, "timeout": 0.05}, "a" * 200 + "b")


async def test_a_long_search_leaves_the_event_loop_to_the_other_nodes() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        with pytest.raises(ValidationError):
            await extract({"pattern": CATASTROPHIC, "timeout": 0.5}, "a" * 200 + "b")
    finally:
        ticker.cancel()
    assert ticks > 0


async def test_a_sound_pattern_is_unaffected_by_the_timeout() -> None:
    outputs = await extract({"pattern": r"(\w+)@(\w+)"}, "mail bob@example now")
    assert outputs == {"matched": True, "match": "bob@example", "groups": ["bob", "example"]}


def test_the_default_timeout_is_generous_so_load_does_not_fail_a_sound_pattern() -> None:
    assert REGEX_TIMEOUT >= 10


@pytest.mark.parametrize("timeout", [0, -1, True, "1", 601])
def test_a_timeout_that_is_not_seconds_up_to_ten_minutes_is_refused(timeout: object) -> None:
    with pytest.raises(ValidationError, match=r"config\.timeout must be seconds in \(0, 600\]"):
        regex_extract({"pattern": "a", "timeout": timeout})
