"""Retention durations: seconds or a number with a unit; "none" keeps for ever; 0 or "none" turns the schedule off."""

from __future__ import annotations

import pytest

from symphony.builtin_plugins.pit.stale.options import CacheRule, StaleOptions, parse_duration
from symphony.hookspecs import ConfigurationError


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(90, 90.0), (0.5, 0.5), ("45s", 45.0), ("15m", 900.0), ("12h", 43200.0), ("30d", 2592000.0), ("2w", 1209600.0)],
)
def test_a_duration_is_seconds_or_a_number_with_a_unit(value: object, seconds: float) -> None:
    assert parse_duration(value, "runs") == seconds


def test_none_keeps_for_ever() -> None:
    assert StaleOptions.from_options({"runs": "none", "logs": "None"}).runs_retention is None


@pytest.mark.parametrize("schedule", [0, "0", "none"])
def test_a_zero_or_none_schedule_turns_scheduled_collection_off(schedule: object) -> None:
    assert StaleOptions.from_options({"schedule": schedule}).interval is None


@pytest.mark.parametrize(
    ("cache", "rule"),
    [("keep-current", CacheRule("current")), ("keep-all", CacheRule("all")), ("14d", CacheRule("age", 14 * 86400.0))],
)
def test_the_cache_rule_is_keep_current_keep_all_or_a_maximum_age(cache: str, rule: CacheRule) -> None:
    assert StaleOptions.from_options({"cache": cache}).cache_rule == rule


@pytest.mark.parametrize("value", ["30 days", "1.5.2h", "-3d", "d", ""])
def test_anything_else_is_an_error_saying_what_a_duration_is(value: str) -> None:
    with pytest.raises(ConfigurationError, match=r'components\.stale\.options\.logs = .* \("30d", "12h"\)'):
        StaleOptions.from_options({"logs": value})
