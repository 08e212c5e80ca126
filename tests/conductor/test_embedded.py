"""The embedded conductor (the default ``conductor`` port): validate, run on the DAG tracker, wait, report."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from symphony.builtin_plugins.conductor import EmbeddedConductor
from symphony.builtin_plugins.workflow import WorkflowFormatError, load
from symphony.hookspecs import ExecutionId, NotFoundError, SymphonyError, ValidationError
from symphony.hookspecs.ports import ConductorPort, DataAccessPort, OrchestrationRequest
from symphony.host import Host

from .conftest import EXAMPLES, WELCOME_LINES, WELCOME_USER, edge, make_host, node, started, wait_until, write_flow


async def _runs(host: Host) -> int:
    """How many runs the host's data service records (few: one page)."""
    data: DataAccessPort = host.port("data_access")
    page = await data.list_runs(limit=50)
    assert page.next_cursor is None
    return len(page.items)


async def test_the_host_provides_the_embedded_conductor_by_default(embedded_host: Host) -> None:
    conductor = embedded_host.port("conductor")
    assert isinstance(conductor, EmbeddedConductor)
    assert isinstance(conductor, ConductorPort)


async def test_orchestrate_runs_a_toml_example_and_returns_its_outputs(embedded_host: Host, tmp_path: Path) -> None:
    conductor = embedded_host.port("conductor")
    result = await conductor.orchestrate(
        OrchestrationRequest(workflow=EXAMPLES / "welcome.toml", inputs={"user": WELCOME_USER})
    )
    assert result.state == "succeeded", result.error
    assert result.outputs == {"lines": WELCOME_LINES}
    assert result.error is None
    assert await _runs(embedded_host) == 1  # recorded by the data service, so `symphony runs` sees it


@pytest.mark.parametrize("form", ["path", "text path", "Workflow", "document"])
async def test_orchestrate_takes_a_workflow_as_a_path_an_object_or_a_document(embedded_host: Host, form: str) -> None:
    path = EXAMPLES / "welcome.toml"
    workflow = {
        "path": path,
        "text path": str(path),
        "Workflow": load(path),
        "document": msgspec.to_builtins(load(path)),
    }[form]
    result = await embedded_host.port("conductor").orchestrate(
        OrchestrationRequest(workflow=workflow, inputs={"user": WELCOME_USER})
    )
    assert result.outputs == {"lines": WELCOME_LINES}


async def test_an_invalid_workflow_fails_naming_every_problem_and_runs_nothing(
    embedded_host: Host, tmp_path: Path
) -> None:
    body = (
        '[nodes.a]\nkind = "operator"\nuses = "no-such-operator"\n'
        '[nodes.b]\nkind = "operator"\nuses = "text-template"\nconfig = { template = "x" }\n'
        '[[edges]]\nkind = "data"\nfrom = "a.value"\nto = "b.nowhere"\n'
    )
    flow = write_flow(tmp_path / "bad.toml", body, {"out": "b.text"})
    with pytest.raises(ValidationError) as raised:
        await embedded_host.port("conductor").orchestrate(OrchestrationRequest(workflow=flow, inputs={"x": 1}))
    message = str(raised.value)
    assert "is invalid" in message
    assert "unknown_contribution" in message and "no-such-operator" in message
    assert "unknown_port" in message
    assert await _runs(embedded_host) == 0


async def test_a_document_that_is_not_a_workflow_is_a_format_error_saying_what_is_missing(
    embedded_host: Host,
) -> None:
    with pytest.raises(WorkflowFormatError, match=r"missing required field `id`"):
        await embedded_host.port("conductor").orchestrate(
            OrchestrationRequest(workflow={"schema_version": 1, "name": "no id"})
        )


async def test_a_missing_workflow_file_is_a_format_error_naming_it(embedded_host: Host, tmp_path: Path) -> None:
    with pytest.raises(WorkflowFormatError, match=r"Cannot read .*nowhere\.toml"):
        await embedded_host.port("conductor").orchestrate(OrchestrationRequest(workflow=tmp_path / "nowhere.toml"))


async def test_a_missing_input_fails_with_how_to_pass_it(embedded_host: Host) -> None:
    with pytest.raises(ValidationError, match=r"Missing required input\(s\) user"):
        await embedded_host.port("conductor").orchestrate(OrchestrationRequest(workflow=EXAMPLES / "welcome.toml"))


async def test_a_failing_node_makes_a_failed_result_naming_the_node(embedded_host: Host, tmp_path: Path) -> None:
    body = (
        '[nodes.a]\nkind = "operator"\nuses = "test-flaky"\n'
        f'config = {{ counter = "{tmp_path / "calls"}", failures = 5, error = "value", run = {{ attempts = 1 }} }}\n'
    )
    flow = write_flow(tmp_path / "fails.toml", body, {"out": "a.value"})
    result = await embedded_host.port("conductor").orchestrate(OrchestrationRequest(workflow=flow, inputs={"x": 1}))
    assert result.state == "failed"
    assert result.error is not None and "Node 'a' failed on attempt 1 of 1" in result.error
    assert result.outputs == {"out": None}


async def test_status_is_busy_with_the_active_run_while_it_runs_then_idle(embedded_host: Host, tmp_path: Path) -> None:
    log, gate = tmp_path / "log", tmp_path / "go"
    flow = write_flow(tmp_path / "flow.toml", node("a", log, wait_for=str(gate)), {"out": "a.value"})
    conductor = embedded_host.port("conductor")
    assert (await conductor.get_status()).state == "idle"
    running = asyncio.create_task(conductor.orchestrate(OrchestrationRequest(workflow=flow, inputs={"x": 1})))
    await asyncio.to_thread(wait_until, lambda: "a" in started(log), "node a to start")
    busy = await conductor.get_status()
    gate.touch()
    result = await running
    assert busy.state == "busy"
    assert busy.active_runs == (result.execution_id,)
    assert await conductor.get_status() == type(busy)(state="idle", mode="embedded")


async def test_resume_continues_a_failed_run_without_rerunning_finished_nodes(
    embedded_host: Host, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    body = (
        node("a", log)
        + '[nodes.f]\nkind = "operator"\nuses = "test-flaky"\n'
        + f'config = {{ counter = "{tmp_path / "calls"}", failures = 1, error = "value", name = "f", log = "{log}",'
        + " run = { attempts = 1 } }\n"
        + edge("a", "f")
    )
    flow = write_flow(tmp_path / "flow.toml", body, {"out": "f.value"})
    conductor = embedded_host.port("conductor")
    failed = await conductor.orchestrate(OrchestrationRequest(workflow=flow, inputs={"x": 1}))
    assert failed.state == "failed"
    resumed = await conductor.orchestrate(OrchestrationRequest(workflow=None, resume=failed.execution_id))
    assert resumed.state == "succeeded"
    assert resumed.execution_id == failed.execution_id
    assert resumed.outputs == {"out": ["a", 1]}
    assert started(log) == ["a", "f", "f"]


async def test_resume_with_inputs_is_refused_since_the_recorded_ones_are_used(embedded_host: Host) -> None:
    with pytest.raises(ValidationError, match=r"uses its recorded inputs"):
        await embedded_host.port("conductor").orchestrate(
            OrchestrationRequest(workflow=None, resume=ExecutionId("abcd1234"), inputs={"x": 1})
        )


async def test_resume_of_an_unknown_run_is_not_found(embedded_host: Host) -> None:
    with pytest.raises(NotFoundError):
        request = OrchestrationRequest(workflow=None, resume=ExecutionId("ffff0000"))
        await embedded_host.port("conductor").orchestrate(request)


async def test_no_workflow_and_no_resume_says_what_to_give(embedded_host: Host) -> None:
    with pytest.raises(ValidationError, match=r"No workflow to orchestrate"):
        await embedded_host.port("conductor").orchestrate(OrchestrationRequest(workflow=None))


def test_bad_conductor_options_are_an_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(SymphonyError, match=r"`components\.conductor\.options\.mode` = 'elsewhere'"):
        make_host(tmp_path, mode="elsewhere")  # the host checks the options the plugin declares when it loads


async def test_a_stopped_conductor_says_so_and_takes_no_runs(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    async with host:
        conductor = host.port("conductor")
    assert (await conductor.get_status()).state == "stopped"
    with pytest.raises(ValidationError, match=r"stopped"):
        await conductor.orchestrate(OrchestrationRequest(workflow=EXAMPLES / "welcome.toml"))
