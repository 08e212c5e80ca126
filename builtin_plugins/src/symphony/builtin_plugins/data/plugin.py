"""The data layer's wiring: its pre-validators and the health of the embedded database."""

from __future__ import annotations

import sqlite3

from symphony.hookspecs import HealthCheck, HealthStatus, PreValidatorSpec, hookimpl
from symphony.hookspecs.ports import HostContext

SYMPHONY_API = "^1.0"


def _sqlite() -> HealthStatus:
    connection = sqlite3.connect(":memory:")
    try:
        (journal,) = connection.execute("pragma journal_mode=wal").fetchone()
        (json_ok,) = connection.execute("select json_valid('{}')").fetchone()
    finally:
        connection.close()
    if not json_ok:
        return HealthStatus.failed("SQLite lacks the JSON functions", fix="Use a Python built with SQLite >= 3.38.")
    return HealthStatus.ok(f"SQLite {sqlite3.sqlite_version}", sqlite=sqlite3.sqlite_version, journal=journal)


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    return [HealthCheck(name="database", check=_sqlite)]


@hookimpl
def symphony_pre_validators(context: HostContext) -> list[PreValidatorSpec]:
    from .prevalidate import pre_validators

    return pre_validators()
