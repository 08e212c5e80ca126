"""Running workflows in process: outcomes, retries, timeouts, limits, threads, events, checkpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from symphony.builtin_plugins.pit.artifacts import ArtifactStore
from symphony.builtin_plugins.pit.dag import DagTracker, RunInvalidError, TrackerOptions
from symphony.builtin_plugins.pit.dag.run import save_nodes
from symphony.builtin_plugins.workflow import load
from symphony.hookspecs import Event, ExecutionId, ValidationError
from symphony.hookspecs.ports import DataAccessPort, NewRun, NodeCheckpoint, RunUpdate

from .conftest import flow, log_lines, started

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def recorders(log: Path, names: list[str], sleep: float = 0.0, extra: str = "") -> str:
    return "".join(
        f'[nodes.{n}]\nkind = "operator"\nuses = "test-record"\n'
        f'config = {{ name = "{n}", log = "{log}", sleep = {sleep}{extra} }}\n'
        for n in names
    )


def edge(source: str, target: str, kind: str = "data", when: str | None = None) -> str:
    text = f'[[edges]]\nkind = "{kind}"\nfrom = "{source}"\nto = "{target}"\n'
    return text + (f"when = '{when}'\n" if when else "")


def flaky(tmp_path: Path, failures: int, run: str, error: str = "connection") -> str:
    return (
        '[nodes.f]\nkind = "operator"\nuses = "test-flaky"\n'
        f'config = {{ counter = "{tmp_path / "calls"}", failures = {failures}, error = "{error}",'
        f' name = "f", log = "{tmp_path / "log"}", run = {run} }}\n'
    )


async def test_the_triage_example_takes_the_urgent_branch_and_skips_the_other(tracker: DagTracker) -> None:
    result = await tracker.run(
        load(EXAMPLES / "triage.toml"), {"ticket": '{"id": 7, "title": "Down", "priority": "urgent"}'}
    )
    assert result.state == "succeeded"
    assert result.outputs == {"reply": "Escalating ticket 7: Down"}
    assert {n: m.state for n, m in result.nodes.items()} == {
        "parse": "succeeded",
        "route": "succeeded",
        "escalate": "succeeded",
        "receipt": "skipped",
        "reply": "succeeded",
    }


async def test_an_untaken_branch_skips_everything_below_it_and_the_run_still_succeeds(tracker: DagTracker) -> None:
    result = await tracker.run(load(EXAMPLES / "extract-title.toml"), {"html": "<p>no title here</p>"})
    assert result.state == "succeeded"
    assert result.outputs == {"sentence": None, "found": False}
    assert result.metrics.skipped == 2 and result.metrics.failed == 0


@pytest.mark.parametrize(("approved", "expected"), [("true", "succeeded"), ("false", "skipped")])
async def test_a_shut_gate_skips_its_downstream(
    tracker: DagTracker, tmp_path: Path, approved: str, expected: str
) -> None:
    workflow = flow(
        '[inputs]\nx = { type = "json" }\n'
        '[nodes.g]\nkind = "control"\ncontrol = "gate"\nconfig = { when = \'in.ok == true\' }\n'
        + recorders(tmp_path / "log", ["after"])
        + edge("inputs.x", "g.in")
        + edge("g.out", "after.value")
    )
    result = await tracker.run(workflow, {"x": {"ok": approved == "true"}})
    assert result.state == "succeeded"
    assert result.nodes["after"].state == expected


async def test_a_node_that_fails_twice_then_succeeds_is_retried_and_counted(
    tracker: DagTracker, tmp_path: Path, events: list[Event]
) -> None:
    result = await tracker.run(flow(flaky(tmp_path, 2, "{ attempts = 3, backoff = 0.001 }")), {})
    assert result.state == "succeeded"
    assert result.nodes["f"].attempts == 3
    assert result.metrics.retries == 2
    retries = [e.data for e in events if e.topic == "node.retrying"]
    assert [(r["attempt"], r["category"]) for r in retries] == [(1, "connection"), (2, "connection")]


async def test_a_node_out_of_attempts_fails_the_run_with_a_report_naming_node_attempt_and_cause(
    tracker: DagTracker, tmp_path: Path
) -> None:
    text = flaky(tmp_path, 5, "{ attempts = 2, backoff = 0 }") + recorders(tmp_path / "log", ["after"])
    result = await tracker.run(flow(text + edge("f.value", "after.value")), {})
    assert result.state == "failed"
    assert result.error == (
        "Node 'f' failed on attempt 2 of 2 (connection): ConnectionError: connection refused on call 2."
    )
    assert result.nodes["after"].state == "pending"
    assert "after" not in started(tmp_path / "log")


async def test_errors_outside_retry_on_are_not_retried(tracker: DagTracker, tmp_path: Path) -> None:
    result = await tracker.run(flow(flaky(tmp_path, 1, "{ attempts = 3, backoff = 0 }", error="value")), {})
    assert result.state == "failed"
    assert result.failure is not None and (result.failure.attempt, result.failure.category) == (1, "error")


async def test_retry_on_may_name_an_exception_class(tracker: DagTracker, tmp_path: Path) -> None:
    run = '{ attempts = 2, backoff = 0, retry_on = ["ValueError"] }'
    result = await tracker.run(flow(flaky(tmp_path, 1, run, error="value")), {})
    assert result.state == "succeeded" and result.nodes["f"].attempts == 2


async def test_an_attempt_over_its_timeout_fails_as_a_timeout(tracker: DagTracker, tmp_path: Path) -> None:
    text = recorders(tmp_path / "log", ["slow"], sleep=5, extra=", run = { timeout = 0.05, attempts = 1 }")
    result = await tracker.run(flow(text), {})
    assert result.state == "failed"
    assert result.failure is not None and result.failure.category == "timeout"
    assert [entry["what"] for entry in log_lines(tmp_path / "log")] == ["start"]  # cut off, not waited out


async def test_bad_run_options_name_the_node_and_key(tracker: DagTracker, tmp_path: Path) -> None:
    text = recorders(tmp_path / "log", ["a"], extra=", run = { attempts = 0 }")
    with pytest.raises(ValidationError, match=r"node 'a'.*nodes\.a\.config\.run\.attempts"):
        await tracker.run(flow(text), {})


async def test_an_invalid_workflow_is_refused_with_every_problem(tracker: DagTracker) -> None:
    with pytest.raises(RunInvalidError, match="unknown_contribution"):
        await tracker.run(flow('[nodes.a]\nkind = "operator"\nuses = "no-such-thing"\n'), {})


async def test_a_missing_required_input_is_refused_before_anything_runs(tracker: DagTracker) -> None:
    with pytest.raises(ValidationError, match="Missing required input"):
        await tracker.run(load(EXAMPLES / "triage.toml"), {})


def _most_at_once(log: Path) -> int:
    running = peak = 0
    for entry in sorted(log_lines(log), key=lambda e: (e["t"], e["what"] == "start")):
        running += 1 if entry["what"] == "start" else -1
        peak = max(peak, running)
    return peak


async def test_the_run_concurrency_limit_is_honoured(make_tracker: Callable[..., DagTracker], tmp_path: Path) -> None:
    tracker = make_tracker(options=TrackerOptions(max_concurrency=2))
    names = [f"n{i}" for i in range(6)]
    result = await tracker.run(flow(recorders(tmp_path / "log", names, sleep=0.03)), {})
    assert result.state == "succeeded"
    assert _most_at_once(tmp_path / "log") == 2


async def test_a_per_operator_limit_is_honoured(make_tracker: Callable[..., DagTracker], tmp_path: Path) -> None:
    tracker = make_tracker(options=TrackerOptions(limits={"test-record": 1}))
    result = await tracker.run(flow(recorders(tmp_path / "log", ["a", "b", "c"], sleep=0.02)), {})
    assert result.state == "succeeded"
    assert _most_at_once(tmp_path / "log") == 1
    assert result.metrics.queue_wait > 0.02


async def test_cpu_bound_operators_run_in_a_worker_thread_without_blocking_the_loop(
    tracker: DagTracker, tmp_path: Path
) -> None:
    log, done = tmp_path / "log", tmp_path / "quick-done"
    text = '[nodes.block]\nkind = "operator"\nuses = "test-blocking"\n'
    text += f'config = {{ name = "block", log = "{log}", wait_for = "{done}" }}\n'
    text += recorders(log, ["quick"], extra=f', done = "{done}"')
    result = await tracker.run(flow(text), {})
    assert result.state == "succeeded"
    # "block" holds its thread until "quick" has finished: only a loop left free lets "quick" run meanwhile.
    ends = [entry["name"] for entry in log_lines(log) if entry["what"] == "end"]
    assert ends == ["quick", "block"]


async def test_every_node_state_change_is_an_event(tracker: DagTracker, tmp_path: Path, events: list[Event]) -> None:
    text = recorders(tmp_path / "log", ["a", "b"]) + edge("a.value", "b.value")
    result = await tracker.run(flow(text), {})
    topics = [(e.topic, e.data.get("node")) for e in events]
    assert topics == [
        ("run.started", None),
        ("node.ready", "a"),
        ("node.running", "a"),
        ("node.succeeded", "a"),
        ("node.ready", "b"),
        ("node.running", "b"),
        ("node.succeeded", "b"),
        ("run.succeeded", None),
    ]
    assert all(e.source == "dag" and e.data["run_id"] == result.run_id for e in events)


async def test_each_finished_node_is_checkpointed_by_the_data_service_with_its_outputs(
    tracker: DagTracker, data_port: DataAccessPort, tmp_path: Path
) -> None:
    result = await tracker.run(flow(recorders(tmp_path / "log", ["a"])), {})
    (node,) = await data_port.run_nodes(result.run_id)
    assert (node.node_id, node.state, node.attempts) == ("a", "succeeded", 1)
    assert node.outputs is not None
    assert msgspec.msgpack.decode(node.outputs) == {"value": ["a", None]}


async def test_a_cached_node_reuses_outputs_for_identical_inputs_and_reruns_for_new_ones(
    tracker: DagTracker, tmp_path: Path
) -> None:
    text = '[inputs]\nx = { type = "any" }\n' + recorders(tmp_path / "log", ["c"], extra=", run = { cache = true }")
    workflow = flow(text + edge("inputs.x", "c.value"))
    first = await tracker.run(workflow, {"x": 1})
    second = await tracker.run(workflow, {"x": 1})
    third = await tracker.run(workflow, {"x": 2})
    assert started(tmp_path / "log") == ["c", "c"]
    assert (first.nodes["c"].cached, second.nodes["c"].cached, third.nodes["c"].cached) == (False, True, False)
    assert second.metrics.cached == 1


async def test_a_node_without_cache_runs_every_time(tracker: DagTracker, tmp_path: Path) -> None:
    workflow = flow(recorders(tmp_path / "log", ["c"]))
    await tracker.run(workflow, {})
    await tracker.run(workflow, {})
    assert started(tmp_path / "log") == ["c", "c"]


async def test_cancelling_a_run_stops_its_running_nodes(tracker: DagTracker, tmp_path: Path) -> None:
    text = recorders(tmp_path / "log", ["slow"], sleep=10) + recorders(tmp_path / "log", ["after"])
    run_id = await tracker.start(flow(text + edge("slow.value", "after.value")), {})
    while started(tmp_path / "log") != ["slow"]:
        await asyncio.sleep(0.01)
    await tracker.cancel(run_id)
    result = await tracker.wait(run_id)
    assert result.state == "cancelled"
    assert result.nodes["slow"].state == "cancelled"
    assert "after" not in started(tmp_path / "log")
    assert (await tracker.status(run_id)).state == "cancelled"


async def test_a_cancel_recorded_by_another_process_stops_the_run(
    make_tracker: Callable[..., DagTracker], tmp_path: Path
) -> None:
    running, other = make_tracker(), make_tracker()
    run_id = await running.start(flow(recorders(tmp_path / "log", ["slow"], sleep=10)), {})
    while not started(tmp_path / "log"):
        await asyncio.sleep(0.01)
    await other.require_records().update_run(run_id, RunUpdate(cancel_requested=True))
    result = await asyncio.wait_for(running.wait(run_id), 5)
    assert result.state == "cancelled"


async def test_resume_after_a_failure_reruns_only_what_did_not_succeed(tracker: DagTracker, tmp_path: Path) -> None:
    text = (
        recorders(tmp_path / "log", ["a"]) + flaky(tmp_path, 1, "{ attempts = 1 }") + recorders(tmp_path / "log", ["b"])
    )
    workflow = flow(text + edge("a.value", "f.value") + edge("f.value", "b.value") + '[outputs]\nout = "b.value"\n')
    failed = await tracker.run(workflow, {})
    assert failed.state == "failed"
    run_id = await tracker.resume(ExecutionId(failed.run_id))
    resumed = await tracker.wait(run_id)
    assert resumed.state == "succeeded"
    assert started(tmp_path / "log") == ["a", "f", "f", "b"]
    assert resumed.outputs == {"out": ["b", ["a", None]]}
    assert resumed.metrics.restored == 1


async def test_a_succeeded_run_cannot_be_resumed(tracker: DagTracker, tmp_path: Path) -> None:
    result = await tracker.run(flow(recorders(tmp_path / "log", ["a"])), {})
    with pytest.raises(ValidationError, match="already succeeded"):
        await tracker.resume(ExecutionId(result.run_id))


async def test_large_outputs_go_to_the_artifact_store_and_come_back_on_resume(
    make_tracker: Callable[..., DagTracker], tmp_path: Path
) -> None:
    tracker = make_tracker(options=TrackerOptions(inline_limit=4), artifacts=ArtifactStore(tmp_path / "artifacts"))
    text = recorders(tmp_path / "log", ["big"]) + flaky(tmp_path, 1, "{ attempts = 1 }")
    workflow = flow(text + edge("big.value", "f.value") + '[outputs]\nout = "f.value"\n')
    failed = await tracker.run(workflow, {})
    ref = (await tracker.recorded_nodes(failed.run_id))["big"].outputs_ref
    assert ref is not None and ref.startswith("sha256:")
    resumed = await tracker.wait(await tracker.resume(ExecutionId(failed.run_id)))
    assert resumed.outputs == {"out": ["big", None]}


async def test_a_step_larger_than_one_request_of_the_data_service_takes_is_saved_whole(
    data_port: DataAccessPort,
) -> None:
    run = NewRun(id="5" * 32, workflow_id="w", workflow_name="w", document=b"", inputs=b"", nodes_total=2503)
    await data_port.create_run(run)
    small = [NodeCheckpoint(node_id=f"n{i}", state="succeeded", outputs=b"\x80") for i in range(2500)]
    large = [NodeCheckpoint(node_id=f"big{i}", state="succeeded", outputs=b"x" * 400_000) for i in range(3)]

    await save_nodes(data_port, run.id, small + large)

    saved = {node.node_id: node for node in await data_port.run_nodes(run.id)}
    assert len(saved) == 2503
    assert all(saved[f"big{i}"].outputs == b"x" * 400_000 for i in range(3))
