"""``permission_records``: the permission checker's writes and polls through port ``permission_records``.

The port as a host gets it by default (the data plugin's embedded service, called on the calling thread,
SQLite), beside a bare SQLAlchemy Core statement on the same database through the service's own engine
settings (one transaction each), so the figure is what the service's authentication, checks and session
cost over the statement itself:

- ``permission_records.denial``: one denial recorded (committed when the call returns), p50 and p99,
  against a bare Core insert of the same row.
- ``permission_records.version``: the grants version the checker reads before its checks, against a bare
  Core select of the same row.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, select

from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.builtin_plugins.data.service.db import open_engine
from symphony.builtin_plugins.data.service.models import PERMISSION_AUDIT, PERMISSION_VERSIONS, User
from symphony.hookspecs.ports import DecisionRecord, PermissionRecordsPort
from symphony.host import Host, Settings

__all__ = ["run"]

DENIAL = DecisionRecord(
    at=1.0,
    extension="bench.ext",
    kind="file",
    permission="file:read:/data/**",
    target="/data/secret",
    decision="denied",
    rule="no grant",
    reason="not granted",
)


def _times(call: Callable[[], object], count: int) -> list[float]:
    for _ in range(max(10, count // 10)):
        call()
    samples = []
    with no_gc():
        for _ in range(count):
            start = time.perf_counter()
            call()
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def run(quick: bool) -> list[Record]:
    count = 200 if quick else 2000
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        host = Host(Settings(data_dir=root / "data", cache_dir=root / "cache")).load()

        async def through_the_port() -> tuple[list[float], list[float]]:
            await host.start()
            try:
                port: PermissionRecordsPort = host.port("permission_records")
                port.record_decisions([DENIAL])  # opens the embedded service
                return _times(lambda: port.record_decisions([DENIAL]), count), _times(port.version, count)
            finally:
                await host.stop()

        denial, version = asyncio.run(through_the_port())
        engine = open_engine(f"sqlite:///{root / 'data' / 'data' / 'service.db'}")
        try:
            with engine.connect() as connection:
                owner = connection.execute(select(User.id)).scalars().first()
            row = {"owner_id": owner, **_fields()}
            statement = insert(PERMISSION_AUDIT)
            read = select(PERMISSION_VERSIONS.c.version).where(PERMISSION_VERSIONS.c.owner_id == owner)

            def bare_insert() -> None:
                with engine.begin() as connection:
                    connection.execute(statement, row)

            def bare_select() -> None:
                with engine.connect() as connection:
                    connection.execute(read).scalar_one_or_none()

            bare_denial = _times(bare_insert, count)
            bare_version = _times(bare_select, count)
        finally:
            engine.dispose()
    bare = percentile(bare_denial, 0.5)
    return [
        record("permission_records.denial.p50", percentile(denial, 0.5), "ms", "bare Core insert p50", bare),
        record(
            "permission_records.denial.p99",
            percentile(denial, 0.99),
            "ms",
            "bare Core insert p99",
            percentile(bare_denial, 0.99),
        ),
        record(
            "permission_records.version.p50",
            percentile(version, 0.5),
            "ms",
            "bare Core select p50",
            percentile(bare_version, 0.5),
        ),
    ]


def _fields() -> dict[str, object]:
    return {name: getattr(DENIAL, name) for name in DENIAL.__struct_fields__ if name != "id"}
