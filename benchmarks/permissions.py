"""Permission checker benchmarks: the cost of one decision on the hot path.

- ``permissions.network``: ``PermissionChecker.check`` of an allowed host
  (a cached decision, recorded in the audit log's buffer), against a ``dict``
  lookup of a precomputed answer: what a decision costs beyond a lookup.
- ``permissions.file``: ``check`` of a file read (``..`` and symlinks resolved
  with ``os.path.realpath`` every time, one regex over every granted pattern,
  audit buffer), against ``os.path.realpath`` of the same path alone, the
  cost no safe checker can skip.
- ``permissions.cold``: the first decision for an extension declaring and
  granted 50 path patterns and 50 hosts (lookup, grants read from SQLite,
  compile), against reading the same grants from SQLite alone.
- ``permissions.audit``: allowed decisions written to the audit log (batched
  by the background writer, flushed at the end), per decision, against a raw
  ``sqlite3`` ``executemany`` of the same rows in WAL mode.
- ``permissions.denied``: a denial, which is committed before it is returned,
  against one raw ``sqlite3`` insert and commit in WAL mode.
- ``permissions.grant``: ``GrantStore.grant`` of one permission (durable when it
  returns, the records' version read back), against the same raw insert and commit.

These run on the host's own SQLite file (a host without a ``permission_records``
provider); the ``@data_service`` figures repeat the network, audit, denial and
grant ones on port ``permission_records`` of the default distribution (the
embedded data service, SQLite, called in process).

Each figure is the median of several timed loops; the garbage collector is off while timing.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._measure import no_gc
from benchmarks.run import Record, record
from symphony.hookspecs import FileAccess, NetworkAccess
from symphony.hookspecs.ports import PermissionRecordsPort
from symphony.host import Host, Settings
from symphony.host.permissions import (
    EffectivePolicy,
    FileRequest,
    LocationResolver,
    NetworkRequest,
    Permissions,
    Subject,
    SystemRequest,
    provided_records,
)

__all__ = ["run"]


def _per_call_us(body: Callable[[], object], calls: int, repeats: int) -> float:
    samples = []
    with no_gc():
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(calls):
                body()
            samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def _setup(root: Path, records: PermissionRecordsPort | None = None) -> tuple[Permissions, Subject, Path]:
    allowed = root / "tree" / "allowed" / "deep"
    allowed.mkdir(parents=True)
    target = allowed / "notes.txt"
    target.write_text("x")
    patterns = [f"{root}/tree/other{n}/**" for n in range(49)] + [f"{root}/tree/allowed/**"]
    hosts = [f"host{n}.example.org" for n in range(49)] + ["api.example.com"]
    subject = Subject(
        name="bench", declared=(FileAccess(scope="read", paths=tuple(patterns)), NetworkAccess(hosts=tuple(hosts)))
    )
    permissions = Permissions(
        records=records or root / "permissions.db",
        policy=EffectivePolicy(),
        resolver=LocationResolver(data_dir=root / "data", cache_dir=root / "cache"),
        lookup=lambda name: subject if name == "bench" else Subject(name=name),
        flush_interval=0.2,
    )
    permissions.grants.grant("bench", [*(f"file:read:{p}" for p in patterns), *(f"network:{h}" for h in hosts)])
    return permissions, subject, target


def _raw_sqlite(path: Path) -> sqlite3.Connection:
    """The audit table with the same columns and indexes, written with the stdlib driver alone."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, at REAL, extension TEXT, kind TEXT, permission TEXT, "
        "target TEXT, decision TEXT, rule TEXT, reason TEXT, run_id TEXT, mode TEXT)"
    )
    connection.execute("CREATE INDEX ix_extension ON audit (extension)")
    connection.execute("CREATE INDEX ix_decision ON audit (decision)")
    return connection


_RAW_INSERT = (
    "INSERT INTO audit (at, extension, kind, permission, target, decision, rule, reason, run_id, mode) "
    "VALUES (?,?,?,?,?,?,?,?,?,?)"
)


_ROW = (
    0.0,
    "bench",
    "network",
    "network:api.example.com:443",
    "api.example.com:443",
    "allowed",
    "granted",
    "Allowed: declared and granted.",
    None,
    "enforce",
)


def _writes(permissions: Permissions, calls: int) -> dict[str, float]:
    """Per-call µs of an audited cached decision, a batched allowed decision, a denial and a grant."""
    checker = permissions.checker()
    network = NetworkRequest(host="api.example.com", port=443)
    assert checker.check("bench", network).allowed
    figures = {"network": _per_call_us(lambda: checker.check("bench", network), calls, 5)}
    permissions.audit.flush()
    count = calls * 2
    start = time.perf_counter()
    for _ in range(count):
        checker.check("bench", network)
    permissions.audit.flush()
    figures["audit"] = (time.perf_counter() - start) / count * 1e6
    denied = SystemRequest(capability="processes")
    writes = max(calls // 50, 20)
    figures["denied"] = _per_call_us(lambda: checker.check("bench", denied), writes, 3)
    counter = iter(range(10**9))
    figures["grant"] = _per_call_us(
        lambda: permissions.grants.grant("other", [f"network:h{next(counter)}.example.org"]), writes, 3
    )
    return figures


def _service_figures(root: Path, calls: int) -> dict[str, float]:
    """:func:`_writes` on port permission_records of the default distribution (the embedded data service)."""
    host = Host(Settings(data_dir=root / "service-data", cache_dir=root / "service-cache")).load()
    try:
        records = provided_records(host)
        assert records is not None, "the default distribution provides permission_records"
        permissions, _, _ = _setup(root / "service", records)
        try:
            return _writes(permissions, calls)
        finally:
            permissions.close()
    finally:
        asyncio.run(host.stop())


def run(quick: bool) -> list[Record]:
    calls, repeats = (2_000, 5) if quick else (20_000, 7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        permissions, _, target = _setup(root)
        checker = permissions.checker()
        network = NetworkRequest(host="api.example.com", port=443)
        answers = {("bench", network): True}
        dict_us = _per_call_us(lambda: answers.get(("bench", network)), calls, repeats)

        request = FileRequest(path=str(target.parent / ".." / "deep" / "notes.txt"))
        assert checker.check("bench", request).allowed
        file_us = _per_call_us(lambda: checker.check("bench", request), calls, repeats)
        realpath_us = _per_call_us(lambda: os.path.realpath(request.path), calls, repeats)

        def cold() -> None:
            checker.invalidate()
            checker.check("bench", network)

        cold_us = _per_call_us(cold, max(calls // 100, 20), repeats)
        grants_us = _per_call_us(lambda: permissions.grants.grants("bench"), max(calls // 100, 20), repeats)
        own = _writes(permissions, calls)
        permissions.close()

        connection = _raw_sqlite(root / "raw.db")
        rows = [(time.time(), *_ROW[1:])] * (calls * 2)
        start = time.perf_counter()
        connection.execute("BEGIN")
        connection.executemany(_RAW_INSERT, rows)
        connection.execute("COMMIT")
        raw_us = (time.perf_counter() - start) / len(rows) * 1e6
        denied_row = (*rows[0][:5], "denied", "not_declared", "Denied.", None, "enforce")
        raw_commit_us = _per_call_us(lambda: connection.execute(_RAW_INSERT, denied_row), max(calls // 50, 20), 3)
        connection.close()
        service = _service_figures(root, calls)
    records = [
        record(
            "permissions.file", file_us, "us", "os.path.realpath of the same path", realpath_us, goal="<= 2x realpath"
        ),
        record(
            "permissions.cold@50+50",
            cold_us,
            "us",
            "reading the same grants from SQLite",
            grants_us,
            seed_target="extension load < 100 ms",
            goal="<= 10 ms",
        ),
    ]
    for suffix, figures in (("", own), ("@data_service", service)):
        records += [
            record(
                f"permissions.network{suffix}",
                figures["network"],
                "us",
                "dict.get of a precomputed decision",
                dict_us,
                goal="<= 5 us (cached, audited)",
            ),
            record(
                f"permissions.audit{suffix}",
                figures["audit"],
                "us",
                "raw sqlite3 executemany of the same rows",
                raw_us,
                goal="<= 4x the raw driver" if not suffix else None,
            ),
            record(
                f"permissions.denied{suffix}",
                figures["denied"],
                "us",
                "raw sqlite3 insert + commit (WAL)",
                raw_commit_us,
                goal="<= 1 ms (durable when returned)",
            ),
            record(
                f"permissions.grant{suffix}",
                figures["grant"],
                "us",
                "raw sqlite3 insert + commit (WAL)",
                raw_commit_us,
                goal="<= 1 ms (durable when returned)",
            ),
        ]
    return records
