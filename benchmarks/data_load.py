"""``data_load``: many clients at once on ``symphony data serve`` over PostgreSQL, beside its health route.

Fifty editors, each a ``DataClient`` (the port over loopback HTTP, with pre-validation)
holding its own token, repeat a fixed mix of use cases for 60 s (``--quick``: 5 s; the
metric says ``@CLIENTSxSECONDS``): create a workflow (1 in 10), get one of theirs (5 in 10),
list their first page of 20 (2 in 10), update one with its ``expected_version`` (2 in 10).
Each client waits for its answer before sending the next request (a closed loop), so
latency is what a caller sees at this concurrency and requests/s is what the whole
machine sustains.

The baseline is the same clients hammering ``GET /v1/health`` for as long, in the same
run: HTTP, no token check, and Alembic's read of the schema revision (a catalog lookup and a
one-row SELECT); the use cases' cost over it is authentication, RBAC, validation, the audit
row and the real statements.

The server is a subprocess (``symphony data serve``: uvicorn, uvloop when installed) on an
embedded PostgreSQL server, so clients and server do not share an event loop.  On this
2-core machine the client process, the server and PostgreSQL's backends share the two
cores: the figures are the system's, not the server's alone, and a client's latency
includes its wait for its own (busy) event loop.  Every error is counted and printed to
stderr by kind; the ``errors`` records say how many, of how many requests.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._measure import percentile
from benchmarks.data import SPEC, _host, _postgresql, _served
from benchmarks.run import Record, record
from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.service.bootstrap import create_identity
from symphony.builtin_plugins.data.service.migrate import migrate
from symphony.hookspecs import DataError
from symphony.hookspecs.ports import CreateWorkflowRequest, PreValidationPort, UpdateWorkflowRequest, WorkflowRecord

__all__ = ["run"]

CLIENTS = 50
#: One client's cycle of use cases: reads dominate, as in a UI or a conductor.
MIX = ("create", "get", "list", "get", "update", "get", "list", "get", "update", "get")
USE_CASES = ("create", "get", "list", "update")
PAGE = 20
SEED = "< 10 ms per use case"
GOAL = "50 concurrent clients for 60 s: requests/s, p99, errors (none)"
BASELINE = "GET /v1/health (HTTP + schema revision read, no token), same clients"


@dataclass
class Tally:
    """What one phase measured: seconds per answered request by kind, and every failure by kind."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    client_cpu: float = 0.0  # seconds of CPU this (client) process used meanwhile

    def answered(self) -> list[float]:
        return [seconds for figures in self.latencies.values() for seconds in figures]

    def requests(self) -> int:
        return len(self.answered()) + sum(self.errors.values())


class Session:
    """One editor's client and the workflows it owns, as it last saw them."""

    def __init__(self, client: DataClient, number: int) -> None:
        self.client = client
        self.number = number
        self.owned: list[WorkflowRecord] = []
        self.steps = 0
        self.creates = 0  # names each creation uniquely, whichever phase or step makes it

    async def create(self) -> None:
        self.creates += 1
        name = f"load-{self.number}-{self.creates}"
        self.owned.append(await self.client.create_workflow(CreateWorkflowRequest(name=name, spec=SPEC)))

    async def get(self) -> None:
        wanted = self.owned[self.steps % len(self.owned)]
        if await self.client.get_workflow(wanted.id) is None:
            raise DataError(f"workflow {wanted.id} was created by this client but is not found")

    async def page(self) -> None:
        await self.client.list_workflows(limit=PAGE)

    async def update(self) -> None:
        index = self.steps % len(self.owned)
        current = self.owned[index]
        spec = {**SPEC, "metadata": {**SPEC["metadata"], "description": f"revision {self.steps}"}}
        request = UpdateWorkflowRequest(id=current.id, spec=spec, expected_version=current.version)
        self.owned[index] = await self.client.update_workflow(request)

    async def health(self) -> None:
        body = await self.client.health()
        if body.get("status") != "ok":
            raise DataError(f"health answered {body}")

    def calls(self) -> dict[str, Callable[[], Awaitable[None]]]:
        return {"create": self.create, "get": self.get, "list": self.page, "update": self.update, "health": self.health}


async def _until(deadline: float, tally: Tally, kinds: tuple[str, ...], session: Session) -> None:
    """Run ``session``'s ``kinds`` in turn until ``deadline``, timing each answer and counting each failure."""
    calls = session.calls()
    while time.perf_counter() < deadline:
        kind = kinds[session.steps % len(kinds)]
        start = time.perf_counter()
        try:
            await calls[kind]()
        except Exception as error:  # counted and reported by kind: a load test must not hide a failure
            tally.errors[f"{kind}: {type(error).__name__}: {str(error)[:200]}"] += 1
        else:
            tally.latencies.setdefault(kind, []).append(time.perf_counter() - start)
        session.steps += 1


async def _phase(sessions: list[Session], kinds: tuple[str, ...], seconds: float) -> Tally:
    tally = Tally()
    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(_until(start + seconds, tally, kinds, session) for session in sessions))
    tally.elapsed, tally.client_cpu = time.perf_counter() - start, time.process_time() - cpu
    return tally


async def _measure(
    address: str, tokens: list[str], pre_validation: PreValidationPort, seconds: float
) -> tuple[Tally, Tally]:
    async with AsyncExitStack() as stack:
        sessions = []
        for number, token in enumerate(tokens):
            client = await stack.enter_async_context(DataClient.remote(address, token, pre_validation=pre_validation))
            sessions.append(Session(client, number))
        # Untimed: every client owns a workflow and holds a warm connection before the clock starts.
        await asyncio.gather(*(session.create() for session in sessions))
        await asyncio.gather(*(session.get() for session in sessions))
        health = await _phase(sessions, ("health",), seconds)
        usecases = await _phase(sessions, MIX, seconds)
    return health, usecases


def _report(name: str, tally: Tally) -> None:
    """Errors by kind, and how much of the 2 cores the clients took (what the server and PostgreSQL did not get)."""
    print(
        f"# data_load.{name}: {tally.requests()} requests in {tally.elapsed:.1f} s;"
        f" the clients' process used {tally.client_cpu / tally.elapsed:.2f} of a core",
        file=sys.stderr,
    )
    for kind, count in tally.errors.most_common():
        print(f"# data_load.{name}: {count} x {kind}", file=sys.stderr)


def _ms(figures: list[float], fraction: float) -> float:
    """A percentile in milliseconds; NaN when nothing was answered (every request failed: see the errors records)."""
    return percentile(figures, fraction) * 1e3 if figures else float("nan")


def _records(size: str, health: Tally, usecases: Tally) -> list[Record]:
    answered, baseline = usecases.answered(), health.answered()

    def latency(metric: str, figures: list[float], fraction: float) -> Record:
        return record(
            metric, _ms(figures, fraction), "ms", BASELINE, _ms(baseline, fraction), seed_target=SEED, goal=GOAL
        )

    records = [
        record(
            f"data_load.usecases.throughput@{size}",
            len(answered) / usecases.elapsed,
            "req/s",
            BASELINE,
            len(baseline) / health.elapsed,
            seed_target=SEED,
            goal=GOAL,
        ),
        latency(f"data_load.usecases.p50@{size}", answered, 0.5),
        latency(f"data_load.usecases.p99@{size}", answered, 0.99),
    ]
    for kind in USE_CASES:
        figures = usecases.latencies.get(kind, [])
        records += [latency(f"data_load.{kind}.{name}@{size}", figures, q) for name, q in (("p50", 0.5), ("p99", 0.99))]
    for name, tally in (("usecases", usecases), ("health", health)):
        records.append(
            record(
                f"data_load.{name}.errors@{size}",
                sum(tally.errors.values()),
                "requests",
                "requests made",
                tally.requests(),
                seed_target=SEED,
                goal=GOAL,
            )
        )
    return records


def run(quick: bool, *, clients: int = CLIENTS) -> list[Record]:
    seconds = 5.0 if quick else 60.0
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        with _postgresql(root) as url:
            migrate(url)
            tokens = [
                create_identity(url, name=f"load-{n}", email=f"load-{n}@localhost", role="editor", token_name="load")[1]
                for n in range(clients)
            ]
            with _served(root, url) as address:
                pre_validation: PreValidationPort = _host(root).port("pre_validation")
                health, usecases = asyncio.run(_measure(address, tokens, pre_validation, seconds))
    _report("health", health)
    _report("usecases", usecases)
    return _records(f"{clients}x{seconds:g}s", health, usecases)
