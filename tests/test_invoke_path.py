"""Every instrument, operator and extension call goes through ``HostContext.invoke`` and so ``symphony_invoke``.

Wrappers are real plugins registered in a real host; the end-to-end test runs the
real ``symphony run`` over an installed observer distribution and a sandboxed extension.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import Any

import pluggy
import pytest

from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.builtin_plugins.workflow import load
from symphony.hookspecs import Invocation, OperatorSpec, PortSpec, hookimpl
from symphony.hookspecs.ports import HostContext
from symphony.host import Host, Settings
from tests.conftest import Installer, Symphony

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
_SEEN_IN_CALL: contextvars.ContextVar[str | None] = contextvars.ContextVar("seen_in_call", default=None)


def host(tmp_path: Path, *plugins: object) -> Host:
    made = Host(
        Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache"),
        plugins=(dag_plugin, orchestra_plugin, artifacts_plugin, *plugins),
        discover_plugins=False,
    )
    return made.load()


class Recorder:
    """A wrapper keeping what it saw of each invocation: before, and the outcome after."""

    def __init__(self) -> None:
        self.seen: list[Invocation] = []
        self.outcomes: list[tuple[str, Any]] = []

    @hookimpl(wrapper=True)
    def symphony_invoke(self, invocation: Invocation) -> Generator[None, Any, Any]:
        self.seen.append(invocation)
        token = _SEEN_IN_CALL.set(invocation.target)
        try:
            result = yield
        except Exception as error:
            self.outcomes.append(("raised", error))
            raise
        finally:
            _SEEN_IN_CALL.reset(token)
        self.outcomes.append(("returned", result))
        return result


def call(target: str, function: Callable[[Mapping[str, Any]], Any], **fields: Any) -> Invocation:
    return Invocation(kind="operator", target=target, inputs={"x": 2}, call=function, **fields)


async def test_a_wrapper_sees_the_awaited_result_of_an_async_call(tmp_path: Path) -> None:
    recorder = Recorder()

    async def double(inputs: Mapping[str, Any]) -> int:
        await asyncio.sleep(0)
        return int(inputs["x"]) * 2

    assert await host(tmp_path, recorder).context.invoke(call("double", double)) == 4
    assert recorder.outcomes == [("returned", 4)]


async def test_a_wrapper_sees_the_exception_the_call_raised_and_the_caller_gets_it_unchanged(tmp_path: Path) -> None:
    recorder = Recorder()

    async def broken(inputs: Mapping[str, Any]) -> int:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        await host(tmp_path, recorder).context.invoke(call("broken", broken))
    assert [kind for kind, _ in recorder.outcomes] == ["raised"]
    assert isinstance(recorder.outcomes[0][1], KeyError)


async def test_what_a_wrapper_makes_current_before_yielding_is_current_during_the_call(tmp_path: Path) -> None:
    async def look(inputs: Mapping[str, Any]) -> str | None:
        await asyncio.sleep(0)
        return _SEEN_IN_CALL.get()

    assert await host(tmp_path, Recorder()).context.invoke(call("look", look)) == "look"


class Replaces:
    @hookimpl(wrapper=True)
    def symphony_invoke(self, invocation: Invocation) -> Generator[None, Any, Any]:
        result = yield
        return {"wrapped": result}


async def test_wrappers_nest_and_may_replace_the_result(tmp_path: Path) -> None:
    recorder = Recorder()
    made = host(tmp_path, Replaces(), recorder)
    assert await made.context.invoke(call("one", lambda inputs: 1)) == {"wrapped": 1}
    # registered later, so outermost (as pluggy orders wrappers): it sees the replaced result
    assert recorder.outcomes == [("returned", {"wrapped": 1})]


class OldStyle:
    @hookimpl(hookwrapper=True)
    def symphony_invoke(self, invocation: Invocation) -> Generator[None, pluggy.Result[Any], None]:
        outcome = yield
        outcome.force_result(outcome.get_result() + 1)


async def test_an_old_style_hookwrapper_gets_the_outcome_and_may_force_a_result(tmp_path: Path) -> None:
    assert await host(tmp_path, OldStyle()).context.invoke(call("one", lambda inputs: 1)) == 2


class YieldsTwice:
    @hookimpl(wrapper=True)
    def symphony_invoke(self, invocation: Invocation) -> Generator[None, Any, Any]:
        yield
        result = yield
        return result


async def test_a_wrapper_that_yields_twice_is_an_error_naming_its_plugin(tmp_path: Path) -> None:
    made = host(tmp_path, YieldsTwice())
    with pytest.raises(RuntimeError, match="'YieldsTwice' has a symphony_invoke wrapper that yielded twice"):
        await made.context.invoke(call("one", lambda inputs: 1))


class NeverYields:
    @hookimpl(wrapper=True)
    def symphony_invoke(self, invocation: Invocation) -> Generator[None, Any, Any]:
        if invocation.target:
            return None
        yield


async def test_a_wrapper_that_returns_without_yielding_is_an_error_naming_its_plugin(tmp_path: Path) -> None:
    made = host(tmp_path, NeverYields())
    with pytest.raises(RuntimeError, match="'NeverYields' has a symphony_invoke wrapper that returned without"):
        await made.context.invoke(call("one", lambda inputs: 1))


async def test_an_invocation_made_inside_another_has_it_as_parent_and_inherits_its_node_and_run(
    tmp_path: Path,
) -> None:
    recorder = Recorder()
    context = host(tmp_path, recorder).context

    async def outer(inputs: Mapping[str, Any]) -> Any:
        return await context.invoke(Invocation(kind="extension", target="ext:op", inputs=inputs, call=dict))

    await context.invoke(call("node-op", outer, node_id="n1", run_id="r1"))
    outer_call, inner_call = recorder.seen
    assert inner_call.parent is outer_call
    assert (inner_call.node_id, inner_call.run_id) == ("n1", "r1")


class Operators:
    """Contributes an operator under a plugin name, as an installed plugin would."""

    @hookimpl
    def symphony_operators(self, context: HostContext) -> list[OperatorSpec]:
        return [OperatorSpec(name="shout", factory=lambda config: _shout)]


async def _shout(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"out": str(inputs["in"]).upper()}


async def test_every_node_call_of_a_run_goes_through_the_wrappers_with_its_node_run_and_contribution(
    tmp_path: Path,
) -> None:
    recorder = Recorder()
    tracker = host(tmp_path, recorder).port("dag_tracker")
    result = await tracker.run(
        load(EXAMPLES / "welcome.toml"), {"user": '{"name": "Ada", "active": true, "plan": "pro"}'}
    )
    await tracker.close()
    assert result.state == "succeeded"
    by_node = {str(i.node_id): i for i in recorder.seen}
    assert sorted(by_node) == ["greet", "parse", "upsell"]  # control nodes are routing, not calls
    parse = by_node["parse"]
    assert (parse.kind, parse.target, parse.run_id, parse.runtime) == (
        "operator",
        "json-parse",
        result.run_id,
        "in-process",
    )
    assert parse.plugin == orchestra_plugin.__name__
    assert parse.attributes == {"symphony.attempt": 1}
    assert [kind for kind, _ in recorder.outcomes] == ["returned"] * 3


# -- end to end: the real `symphony run` of a builtin operator and a sandboxed extension ------------------------

WORKFLOW = """
schema_version = 1
id = "mixed"
name = "A builtin operator beside a sandboxed extension"
version = "1.0.0"

[inputs]
user = { type = "json" }

[outputs]
greeting = "greet.text"
bytes = "count.bytes"

[nodes.greet]
kind = "operator"
uses = "text-template"
config = { template = "Hello, {name}!" }

[nodes.count]
kind = "operator"
uses = "stats"

[[edges]]
kind = "data"
from = "inputs.user"
to = "greet.values"
"""


def observed(installer: Installer, symphony: Callable[..., Symphony], tmp_path: Path) -> Symphony:
    """The real CLI over the sample extensions and the installed invoke-observer wrapper."""
    cli: Symphony = symphony(installer.site("end-to-end"), installer.install(tmp_path / "observer", "invoke-observer"))
    return cli


def logged(cli: Symphony) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (cli.data_dir / "invoke-observer.log").read_text().splitlines()]


@pytest.mark.slow
def test_a_symphony_run_passes_every_builtin_and_sandboxed_call_through_an_installed_wrapper(
    installer: Installer, symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    cli = observed(installer, symphony, tmp_path)
    cli.home.mkdir(parents=True, exist_ok=True)
    workflow = cli.home / "mixed.toml"
    workflow.write_text(WORKFLOW)
    run = cli.json("run", str(workflow), "--input", 'user={"name": "Ada"}')
    assert run["outputs"] == {"greeting": "Hello, Ada!", "bytes": 2}
    seen = logged(cli)
    calls = {(call["kind"], call["node_id"]): call for call in seen}
    assert len(seen) == len(calls) == 3
    assert calls["operator", "greet"] == {
        "kind": "operator",
        "target": "text-template",
        "plugin": "operators",
        "extension": None,
        "runtime": "in-process",
        "node_id": "greet",
        "run_id": run["run_id"],
        "parent": None,
        "outcome": "returned",
    }
    node = calls["operator", "count"]
    assert (node["target"], node["extension"], node["runtime"], node["run_id"]) == (
        "stats",
        "sample-wasm-core",
        "wasm",
        run["run_id"],
    )
    hop = calls["extension", "count"]  # the call into the sandbox, made inside the node's
    assert (hop["target"], hop["parent"], hop["run_id"], hop["runtime"], hop["outcome"]) == (
        "sample-wasm-core:stats",
        "stats",
        run["run_id"],
        "wasm",
        "returned",
    )


@pytest.mark.slow
def test_symphony_ext_invoke_passes_its_call_through_an_installed_wrapper(
    installer: Installer, symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    cli = observed(installer, symphony, tmp_path)
    result = cli.json("ext", "invoke", "sample-wasm-core", "stats", "--input", "text=abc")
    assert result["result"]["lines"] == 0
    (call,) = logged(cli)
    assert (call["kind"], call["target"], call["extension"], call["runtime"]) == (
        "extension",
        "sample-wasm-core:stats",
        "sample-wasm-core",
        "wasm",
    )
    assert (call["node_id"], call["run_id"], call["parent"], call["outcome"]) == (None, None, None, "returned")


def _blocking_look(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"seen": _SEEN_IN_CALL.get()}


class BlockingOperator:
    @hookimpl
    def symphony_operators(self, context: HostContext) -> list[OperatorSpec]:
        outputs = {"seen": PortSpec(type="string")}
        return [OperatorSpec(name="look", factory=lambda config: _blocking_look, outputs=outputs, cpu_bound=True)]


LOOK = """
schema_version = 1
id = "look"
name = "One blocking operator"
version = "1.0.0"

[outputs]
seen = "look.seen"

[nodes.look]
kind = "operator"
uses = "look"
"""


async def test_a_blocking_operator_runs_in_a_thread_where_what_a_wrapper_made_current_is_current(
    tmp_path: Path,
) -> None:
    (tmp_path / "look.toml").write_text(LOOK)
    tracker = host(tmp_path, Recorder(), BlockingOperator()).port("dag_tracker")
    result = await tracker.run(load(tmp_path / "look.toml"), {})
    await tracker.close()
    assert result.outputs == {"seen": "look"}


async def test_a_model_call_an_extension_asks_for_passes_through_the_wrappers_as_an_instrument_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from symphony.hookspecs import ModelAccess
    from symphony.host.extensions._services import HostServices
    from symphony.host.permissions import Subject, open_permissions
    from tests.orchestra.server import KEY, chat_server

    monkeypatch.setenv("MEDIATION_KEY", KEY)
    recorder = Recorder()
    with chat_server() as server:
        openai = {"base_url": f"{server.url}/v1", "api_key_env": "MEDIATION_KEY"}
        settings = Settings.model_validate(
            {"data_dir": tmp_path, "cache_dir": tmp_path, "components": {"openai": {"options": openai}}}
        )
        made = Host(settings, plugins=[orchestra_plugin, recorder], discover_plugins=False).load()
        declared = (ModelAccess(models=("echo-1",)),)
        permissions = open_permissions(settings, None, lambda name: Subject(name=name, declared=declared))
        try:
            permissions.grants.grant("asker", ["model:echo-1"])
            services = HostServices(permissions.checker(), made.context, run_id="run-1")
            assert await services.model("asker", {"model": "echo-1", "input": "hello"}) == "echo: hello"
        finally:
            permissions.close()
    (call,) = recorder.seen
    assert (call.kind, call.target, call.plugin) == ("instrument", "openai-chat", orchestra_plugin.__name__)
    assert call.attributes == {"symphony.model": "echo-1", "symphony.requested_by": "asker"}
    assert [kind for kind, _ in recorder.outcomes] == ["returned"]
