"""``[components.stale.options]``: how long finished runs, logs and cache entries are kept, and how often to collect.

Durations are seconds (a number) or a string of a number and a unit: ``"45s"``,
``"15m"``, ``"12h"``, ``"30d"``, ``"2w"``.  ``"none"`` keeps for ever (or, for
``schedule``, never collects on a schedule; ``0`` does too).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from symphony.hookspecs import ConfigurationError

__all__ = ["COMPONENT", "CacheRule", "StaleOptions", "parse_duration"]

COMPONENT: Final = "stale"

_UNITS: Final = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")
_KEEP_CURRENT: Final = "keep-current"
_KEEP_ALL: Final = "keep-all"
_HELP: Final = 'a number of seconds, or a number and a unit s, m, h, d or w ("30d", "12h"), or "none"'


def parse_duration(value: Any, key: str) -> float | None:
    """Seconds for ``value`` (None for ``"none"``); anything else is a ConfigurationError naming ``key``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip().lower() == "none":
        return None
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value.strip().lower())) is not None:
        seconds = float(match[1]) * _UNITS[match[2] or "s"]
    else:
        raise ConfigurationError(f"components.stale.options.{key} = {value!r} is not a duration: use {_HELP}.")
    if seconds < 0:
        raise ConfigurationError(f"components.stale.options.{key} = {value!r} is negative: use {_HELP}.")
    return seconds


class CacheRule(msgspec.Struct, frozen=True):
    """Which node cache entries are kept: the current one per workflow node, all, or those younger than ``max_age``."""

    keep: str  # "current", "all" or "age"
    max_age: float | None = None


class StaleOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Retention of each kind of state, and the collection schedule of a long-lived host."""

    #: Finished runs' (succeeded, failed, cancelled) checkpoints are kept this long after they finished.
    runs: str | float = "30d"
    #: Finished runs' log files are kept this long after they finished (a log whose run is gone goes at once).
    logs: str | float = "7d"
    #: ``"keep-current"``: an entry superseded by a newer one of the same workflow node is stale;
    #: ``"keep-all"``: none is, by age; a duration: entries older than it are stale.  An entry whose
    #: contribution is gone, has another version now, or whose outputs were marked stale, is stale in every case.
    cache: str | float = _KEEP_CURRENT
    #: A long-lived host (``symphony conductor serve``) collects this often; ``0`` or ``"none"`` never.
    schedule: str | float = "1h"
    #: The stale marks' database; relative paths are under the host's data_dir.
    database: str = "stale.db"

    def __post_init__(self) -> None:
        for key in ("runs", "logs", "schedule"):
            parse_duration(getattr(self, key), key)
        self.cache_rule  # noqa: B018  (validates)

    @property
    def runs_retention(self) -> float | None:
        return parse_duration(self.runs, "runs")

    @property
    def logs_retention(self) -> float | None:
        return parse_duration(self.logs, "logs")

    @property
    def interval(self) -> float | None:
        """Seconds between scheduled collections; None when the schedule is off."""
        seconds = parse_duration(self.schedule, "schedule")
        return seconds or None

    @property
    def cache_rule(self) -> CacheRule:
        if self.cache == _KEEP_CURRENT:
            return CacheRule("current")
        if self.cache == _KEEP_ALL:
            return CacheRule("all")
        try:
            age = parse_duration(self.cache, "cache")
        except ConfigurationError:
            raise ConfigurationError(
                f"components.stale.options.cache = {self.cache!r} is not a cache rule: use"
                f' "{_KEEP_CURRENT}", "{_KEEP_ALL}" or a maximum age ({_HELP}).'
            ) from None
        return CacheRule("all") if age is None else CacheRule("age", age)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> StaleOptions:
        try:
            return msgspec.convert(dict(options), cls)
        except msgspec.ValidationError as error:
            where = str(error).replace("`$.", "`components.stale.options.").replace("`$`", "`components.stale.options`")
            raise ConfigurationError(f"Invalid stale manager options in [components.stale.options]: {where}.") from None
