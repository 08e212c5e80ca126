"""The Dask executor against a real ``distributed`` cluster on loopback: same outputs, errors and checkpoints.

Most tests use a LocalCluster with ``processes=False`` over TCP: every task, input,
output and exception still crosses a real socket and is pickled and unpickled as
between machines, the cluster starts in a few tens of milliseconds, and the test
can look at the scheduler's own state (which tasks it still holds).  The tests
marked slow use worker *processes*: the work really leaves this process, and a
worker can die.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from distributed import LocalCluster

from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.embedded import EmbeddedService, open_embedded
from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.orchestra.operators import OPERATORS as BUILTIN_OPERATORS
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import DagTracker, Executor, Implementations, TrackerOptions
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.builtin_plugins.pit.dag.distributed import ClusterUnavailableError, DaskExecutor
from symphony.builtin_plugins.pit.dag.options import DaskOptions
from symphony.builtin_plugins.workflow import load
from symphony.hookspecs import Event, ExecutionId, NetworkError, OperatorSpec, PortSpec, SymphonyError
from symphony.host import Host, Settings

from . import ops
from .conftest import flow, started

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TICKET = '{"id": 7, "title": "Down", "priority": "urgent"}'


# -- operators that only make sense here ---------------------------------------------------


def pid_of(config: Mapping[str, Any]) -> Any:
    async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {"value": os.getpid()}

    return run


def die_once(config: Mapping[str, Any]) -> Any:
    """Kill the whole process on the first call (counted in ``config.counter``), then succeed."""
    counter = Path(config["counter"])

    def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        calls = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(calls + 1))
        if calls == 0:
            os._exit(1)
        return {"value": os.getpid()}

    return run


def hold(config: Mapping[str, Any]) -> Any:
    """Touch ``config.started``, then block (synchronously) until ``config.release`` exists (at most 30 s)."""

    def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        Path(config["started"]).touch()
        deadline = time.monotonic() + 30
        while not Path(config["release"]).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"value": "released"}

    return run


class QuotaError(NetworkError):
    """Does not survive pickling: its ``__init__`` wants a keyword that ``args`` does not hold."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def quota_once(config: Mapping[str, Any]) -> Any:
    counter = Path(config["counter"])

    async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        calls = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(calls + 1))
        if calls == 0:
            raise QuotaError("quota exceeded", retry_after=1.0)
        return {"value": "within quota"}

    return run


class LockedFactory:
    """A factory that cannot be pickled (it holds a lock), like one wrapping a live sandbox."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __call__(self, config: Mapping[str, Any]) -> Any:
        return pid_of(config)


def _any() -> dict[str, PortSpec]:
    return {"value": PortSpec(type="any", required=False)}


HERE_OPERATORS = [
    OperatorSpec(name="test-pid", factory=pid_of, inputs=_any(), outputs=_any()),
    OperatorSpec(name="test-die-once", factory=die_once, inputs=_any(), outputs=_any()),
    OperatorSpec(name="test-hold", factory=hold, inputs=_any(), outputs=_any()),
    OperatorSpec(name="test-quota", factory=quota_once, inputs=_any(), outputs=_any()),
    OperatorSpec(name="test-locked", factory=LockedFactory(), inputs=_any(), outputs=_any()),
]
IMPLEMENTATIONS = Implementations.of([*BUILTIN_OPERATORS, *ops.OPERATORS, *HERE_OPERATORS])


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
async def cluster() -> AsyncIterator[LocalCluster]:
    """A real Dask cluster on loopback TCP: a scheduler and one worker with four threads, in this process."""
    async with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=1,
        threads_per_worker=4,
        processes=False,
        host="127.0.0.1",
        protocol="tcp",
        dashboard_address=None,
        asynchronous=True,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
    ) as made:
        yield made


@pytest.fixture
async def make(tmp_path: Path, events: list[Event]) -> AsyncIterator[Callable[..., DagTracker]]:
    """``make(executor)``: a tracker over the builtin and test operators, recording runs in an embedded data service.

    Trackers given the same ``database`` share one service (under tmp_path), so its node cache too.
    """
    made: list[DagTracker] = []
    services: dict[str, tuple[EmbeddedService, DataClient]] = {}

    def factory(executor: Executor | None = None, database: str = "data") -> DagTracker:
        if database not in services:
            service = open_embedded(tmp_path / database)
            services[database] = (service, DataClient.in_process(service.app, service.token))
        records = services[database][1]
        tracker = DagTracker(IMPLEMENTATIONS, records=records, executor=executor, emit=events.append)
        made.append(tracker)
        return tracker

    yield factory
    for tracker in made:
        await tracker.close()
    for service, client in services.values():
        await client.aclose()
        service.close()


def on(cluster: LocalCluster, **options: Any) -> DaskExecutor:
    """An executor pointed at ``cluster``'s scheduler, as a user points one at an existing cluster."""
    return DaskExecutor(DaskOptions(scheduler=cluster.scheduler_address, **options))


async def rows(tracker: DagTracker, run_id: str) -> dict[str, tuple[Any, ...]]:
    """The checkpoints of a run, without timings (which differ from run to run)."""
    return {
        node_id: (row.state, row.attempts, row.outputs, row.outputs_ref, row.error, row.detail, row.cached)
        for node_id, row in (await tracker.recorded_nodes(run_id)).items()
    }


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not become true in time")
        await asyncio.sleep(0.01)


def node(name: str, uses: str, config: str) -> str:
    return f'[nodes.{name}]\nkind = "operator"\nuses = "{uses}"\nconfig = {{ {config} }}\n'


def chain(*names: str) -> str:
    return "".join(
        f'[[edges]]\nkind = "data"\nfrom = "{a}.value"\nto = "{b}.value"\n' for a, b in itertools.pairwise(names)
    )


def prefixes(cluster: LocalCluster) -> set[str]:
    """The names of every kind of task the cluster's scheduler has seen (a task's key up to its id)."""
    scheduler: Any = cluster.scheduler
    return set(scheduler.task_prefixes)


def cancel_requests(cluster: LocalCluster) -> int:
    """How many keys clients asked the scheduler to cancel (its event log)."""
    scheduler: Any = cluster.scheduler
    return sum(
        msg.get("count", 0)
        for log in scheduler.get_events().values()
        for _, msg in log
        if isinstance(msg, dict) and msg.get("action") == "cancel"
    )


def tasks(cluster: LocalCluster) -> list[str]:
    """The states of the tasks the scheduler still holds."""
    scheduler: Any = cluster.scheduler
    return [task.state for task in scheduler.tasks.values()]


# -- same results as the local executor ----------------------------------------------------


async def test_a_workflow_from_toml_gives_the_same_outputs_and_checkpoints_on_dask_as_locally(
    cluster: LocalCluster, make: Callable[..., DagTracker]
) -> None:
    workflow = load(EXAMPLES / "triage.toml")
    local = await make().run(workflow, {"ticket": TICKET})
    dask = make(on(cluster), database="dask-data")
    remote = await dask.run(workflow, {"ticket": TICKET})

    assert remote.state == local.state == "succeeded"
    assert remote.outputs == local.outputs == {"reply": "Escalating ticket 7: Down"}
    assert {n: m.state for n, m in remote.nodes.items()} == {n: m.state for n, m in local.nodes.items()}
    assert await rows(dask, remote.run_id) == await rows(make(), local.run_id)
    # the operators ran as tasks on the cluster; the control nodes (route, reply) did not
    assert prefixes(cluster) == {"json-parse", "text-template"}


@pytest.mark.slow
async def test_node_work_runs_in_a_worker_process_not_the_trackers(make: Callable[..., DagTracker]) -> None:
    executor = DaskExecutor(DaskOptions(scheduler="local", workers=1, processes=True))
    result = await make(executor).run(flow('[outputs]\npid = "p.value"\n' + node("p", "test-pid", "")), {})

    assert result.state == "succeeded"
    worker_pids = set((await executor.client.run(os.getpid)).values())
    assert result.outputs["pid"] in worker_pids
    assert result.outputs["pid"] != os.getpid()


# -- errors, retries and lost workers ------------------------------------------------------


async def test_a_retryable_failure_on_a_worker_is_retried_as_it_is_locally(
    cluster: LocalCluster, make: Callable[..., DagTracker], tmp_path: Path, events: list[Event]
) -> None:
    workflow = flow(
        '[outputs]\nv = "f.value"\n'
        + node("f", "test-flaky", f'counter = "{tmp_path / "calls"}", failures = 2, run = {{ backoff = 0.01 }}')
    )
    result = await make(on(cluster)).run(workflow, {})

    assert result.state == "succeeded"
    assert result.outputs == {"v": 3}
    assert result.nodes["f"].attempts == 3
    retries = [e.data for e in events if e.topic == "node.retrying"]
    assert [(r["attempt"], r["category"], r["error_type"]) for r in retries] == [
        (1, "connection", "ConnectionError"),
        (2, "connection", "ConnectionError"),
    ]


async def test_a_failing_node_gets_the_same_failure_report_as_locally(
    cluster: LocalCluster, make: Callable[..., DagTracker], tmp_path: Path
) -> None:
    def workflow(counter: str) -> Any:
        config = f'counter = "{tmp_path / counter}", failures = 5, error = "value", run = {{ backoff = 0.01 }}'
        return flow(node("f", "test-flaky", config))

    local = await make().run(workflow("local"), {})
    remote = await make(on(cluster), database="dask-data").run(workflow("remote"), {})

    assert remote.state == local.state == "failed"
    assert remote.failure == local.failure
    assert remote.error == local.error == "Node 'f' failed on attempt 1 of 3 (error): ValueError: bad value on call 1."


async def test_an_error_that_does_not_pickle_keeps_its_category_and_is_retried(
    cluster: LocalCluster, make: Callable[..., DagTracker], tmp_path: Path, events: list[Event]
) -> None:
    workflow = flow(node("q", "test-quota", f'counter = "{tmp_path / "calls"}", run = {{ backoff = 0.01 }}'))
    result = await make(on(cluster)).run(workflow, {})

    assert result.state == "succeeded"
    assert result.nodes["q"].attempts == 2
    [retry] = [e.data for e in events if e.topic == "node.retrying"]
    assert retry["category"] == "data.network"
    assert retry["cause"] == "QuotaError: quota exceeded"


@pytest.mark.slow
async def test_a_lost_worker_is_a_retryable_failure_of_its_node(
    make: Callable[..., DagTracker], tmp_path: Path, events: list[Event]
) -> None:
    executor = DaskExecutor(DaskOptions(scheduler="local", workers=1, processes=True))
    workflow = flow(
        '[outputs]\npid = "d.value"\n'
        + node("d", "test-die-once", f'counter = "{tmp_path / "calls"}", run = {{ backoff = 0.01 }}')
    )
    result = await make(executor).run(workflow, {})

    assert result.state == "succeeded"
    assert result.nodes["d"].attempts == 2
    [retry] = [e.data for e in events if e.topic == "node.retrying"]
    assert (retry["category"], retry["error_type"]) == ("ipc.transport", "WorkerLostError")
    assert result.outputs["pid"] != os.getpid()


async def test_an_unreachable_scheduler_stops_the_run_before_it_starts_naming_the_address(
    make: Callable[..., DagTracker], unused_tcp_port: int
) -> None:
    address = f"tcp://127.0.0.1:{unused_tcp_port}"
    tracker = make(DaskExecutor(DaskOptions(scheduler=address, connect_timeout=0.5)))
    with pytest.raises(ClusterUnavailableError, match=r"scheduler at tcp://127\.0\.0\.1:\d+ .*dask\] scheduler"):
        await tracker.run(flow(node("p", "test-pid", "")), {})
    assert not (await tracker.require_records().list_runs()).items


# -- cancellation and timeouts cancel the Dask futures -------------------------------------


async def test_cancelling_a_run_cancels_its_dask_futures(
    cluster: LocalCluster, make: Callable[..., DagTracker], tmp_path: Path
) -> None:
    tracker = make(on(cluster))
    begun, release = tmp_path / "begun", tmp_path / "release"
    run_id = await tracker.start(flow(node("h", "test-hold", f'started = "{begun}", release = "{release}"')), {})
    await until(begun.exists)
    assert tasks(cluster) == ["processing"]

    await tracker.cancel(run_id)
    result = await tracker.wait(run_id)
    release.touch()

    assert result.state == "cancelled"
    assert result.nodes["h"].state == "cancelled"
    await until(lambda: not tasks(cluster))
    assert cancel_requests(cluster) == 1


async def test_a_timed_out_attempt_cancels_its_dask_future(
    cluster: LocalCluster, make: Callable[..., DagTracker], tmp_path: Path
) -> None:
    begun, release = tmp_path / "begun", tmp_path / "release"
    config = f'started = "{begun}", release = "{release}", run = {{ timeout = 0.3, attempts = 1 }}'
    result = await make(on(cluster)).run(flow(node("h", "test-hold", config)), {})
    release.touch()

    assert result.state == "failed"
    assert result.failure is not None and result.failure.category == "timeout"
    await until(lambda: not tasks(cluster))
    assert cancel_requests(cluster) == 1


# -- checkpoints and resume ----------------------------------------------------------------


async def test_resume_on_dask_does_not_rerun_checkpointed_nodes_and_ends_with_the_local_outputs(
    cluster: LocalCluster, make: Callable[..., DagTracker], tmp_path: Path
) -> None:
    def workflow(log: Path, counter: Path, failures: int) -> Any:
        return flow(
            '[inputs]\nx = { type = "integer" }\n[outputs]\nout = "c.value"\n'
            + node("a", "test-record", f'name = "a", log = "{log}"')
            + node(
                "b",
                "test-flaky",
                f'counter = "{counter}", failures = {failures}, error = "value", name = "b", log = "{log}"',
            )
            + node("c", "test-record", f'name = "c", log = "{log}"')
            + '[[edges]]\nkind = "data"\nfrom = "inputs.x"\nto = "a.value"\n'
            + chain("a", "b", "c")
        )

    dask = make(on(cluster), database="dask-data")
    log = tmp_path / "log"
    first = await dask.run(workflow(log, tmp_path / "calls", failures=1), {"x": 1})
    assert first.state == "failed" and first.failure is not None and first.failure.node == "b"
    assert set(await dask.recorded_nodes(first.run_id)) == {"a", "b"}

    await dask.resume(ExecutionId(first.run_id))
    resumed = await dask.wait(ExecutionId(first.run_id))

    # an uninterrupted local run of the same workflow, for comparison
    local = await make().run(workflow(tmp_path / "local-log", tmp_path / "local-calls", failures=0), {"x": 1})
    assert resumed.state == "succeeded"
    assert resumed.outputs == local.outputs == {"out": ["c", ["a", 1]]}
    assert started(log) == ["a", "b", "b", "c"]  # a ran once: its checkpoint was restored
    assert resumed.nodes["a"].attempts == 1
    assert (await rows(dask, first.run_id))["c"] == (await rows(make(), local.run_id))["c"]


# -- what stays in the tracker's process ---------------------------------------------------


async def test_a_node_whose_factory_cannot_be_pickled_fails_naming_the_local_setting(
    cluster: LocalCluster, make: Callable[..., DagTracker]
) -> None:
    result = await make(on(cluster)).run(flow(node("l", "test-locked", "")), {})

    assert result.state == "failed"
    assert result.failure is not None and result.failure.category == "configuration"
    assert result.nodes["l"].attempts == 1
    assert 'local = ["test-locked"]' in result.failure.cause
    assert not prefixes(cluster)


async def test_contributions_named_local_run_in_the_trackers_process(
    cluster: LocalCluster, make: Callable[..., DagTracker]
) -> None:
    executor = on(cluster, local=("test-locked",))
    workflow = flow('[outputs]\npid = "l.value"\n' + node("l", "test-locked", ""))
    result = await make(executor).run(workflow, {})

    assert result.state == "succeeded"
    assert result.outputs == {"pid": os.getpid()}
    assert not prefixes(cluster)


async def test_the_executor_starts_its_own_local_cluster_before_the_run_and_stops_it_on_close(
    make: Callable[..., DagTracker],
) -> None:
    executor = DaskExecutor(DaskOptions(scheduler="local", workers=1, processes=False))
    tracker = make(executor)
    run_id = await tracker.start(load(EXAMPLES / "triage.toml"), {"ticket": TICKET})
    assert executor.client is not None  # connected before any node ran
    result = await tracker.wait(run_id)
    assert result.outputs == {"reply": "Escalating ticket 7: Down"}
    cluster = executor._cluster
    assert cluster is not None and executor.scheduler_address is not None
    assert executor.scheduler_address.startswith("tcp://127.0.0.1:")

    await tracker.close()
    assert executor.client is None
    assert cluster.status.name == "closed"


# -- selected by a setting -----------------------------------------------------------------


def host(tmp_path: Path, **components: Any) -> Host:
    made = Host(
        Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", components=components),
        plugins=(dag_plugin, orchestra_plugin, artifacts_plugin),
        discover_plugins=False,
    )
    made.load()
    return made


async def test_the_host_runs_nodes_on_dask_when_the_settings_say_so(cluster: LocalCluster, tmp_path: Path) -> None:
    options = {"executor": "dask", "dask": {"scheduler": cluster.scheduler_address}}
    tracker = host(tmp_path, dag={"options": options}).port("dag_tracker")
    assert isinstance(tracker, DagTracker) and isinstance(tracker.executor, DaskExecutor)

    result = await tracker.run(
        load(EXAMPLES / "welcome.toml"), {"user": '{"name": "Ada", "active": true, "plan": "pro"}'}
    )
    await tracker.close()
    assert result.outputs == {"lines": ["Welcome, Ada!", "Thanks for choosing the pro plan."]}
    assert prefixes(cluster) == {"json-parse", "text-template"}


def test_the_local_executor_stays_the_default(tmp_path: Path) -> None:
    tracker = host(tmp_path).port("dag_tracker")
    assert isinstance(tracker, DagTracker) and not isinstance(tracker.executor, DaskExecutor)


def test_selecting_dask_without_it_installed_names_the_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "distributed" or m.startswith("distributed.")]:
        monkeypatch.delitem(sys.modules, name)
    for name in [m for m in sys.modules if m.startswith(DaskExecutor.__module__.rpartition(".")[0])]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "distributed", None)  # what `import distributed` meets when it is absent

    made = host(tmp_path, dag={"options": {"executor": "dask"}})
    with pytest.raises(SymphonyError, match=r"not installed .*pip install .*symphony-builtins\[dask\]"):
        made.port("dag_tracker")


def test_a_bad_dask_option_is_an_error_naming_the_key() -> None:
    with pytest.raises(SymphonyError, match=r"`components\.dag\.options\.dask\.workers`"):
        TrackerOptions.from_options({"executor": "dask", "dask": {"workers": 0}})


def test_a_misspelt_dask_option_is_an_error_naming_it() -> None:
    with pytest.raises(SymphonyError, match=r"unknown field `schedulr` - at `components\.dag\.options\.dask`"):
        TrackerOptions.from_options({"dask": {"schedulr": "tcp://127.0.0.1:8786"}})
