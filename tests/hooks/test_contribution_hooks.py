"""The contribution hooks: what a plugin contributes reaches the part of Symphony that consumes it."""

from __future__ import annotations

from pathlib import Path

import click
import msgspec
import pytest
from click.testing import CliRunner

from symphony.builtin_plugins.workflow import Catalogue
from symphony.builtin_plugins.workflow.plugin import catalogue_of
from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import (
    SCHEMA_VERSION,
    CodecSpec,
    ComponentOptionsSpec,
    ConfigurationError,
    HealthCheck,
    HealthStatus,
    InstrumentSpec,
    MessageEnvelope,
    OperatorNode,
    OperatorSpec,
    PortSpec,
    PreValidationError,
    PreValidatorSpec,
    ProviderConflictError,
    RequestPayload,
    TransportSpec,
    Workflow,
    WorkflowCheck,
    WorkflowProblem,
    hookimpl,
)
from symphony.hookspecs.ports import CreateWorkflowRequest, HostContext, Transport
from symphony.hookspecs.runtimes import RuntimeSpec
from symphony.host.cli import cli
from symphony.host.cli._app import HostFactory

from .conftest import MakeHost

TEXT = {"text": PortSpec(type="string")}


def one_node(uses: str) -> Workflow:
    return Workflow(schema_version=SCHEMA_VERSION, id="w", name="w", nodes={"only": OperatorNode(uses=uses)})


def errors(workflow: Workflow, catalogue: Catalogue) -> list[WorkflowProblem]:
    return [problem for problem in validate(workflow, catalogue).report().problems if problem.severity == "error"]


class Nodes:
    @hookimpl
    def symphony_operators(self, context: HostContext) -> list[OperatorSpec]:
        return [OperatorSpec(name="shout", factory=lambda config: None, outputs=TEXT)]

    @hookimpl
    def symphony_instruments(self, context: HostContext) -> list[InstrumentSpec]:
        return [InstrumentSpec(name="oracle", factory=lambda config: None, outputs=TEXT, models=("m",))]


class AlsoShouts:
    @hookimpl
    def symphony_operators(self, context: HostContext) -> list[OperatorSpec]:
        return [OperatorSpec(name="shout", factory=lambda config: None)]


def test_symphony_operators_join_the_catalogue_workflows_are_validated_against(make_host: MakeHost) -> None:
    catalogue = catalogue_of(make_host(Nodes()).load().context)
    assert catalogue.operators["shout"].provider == "Nodes"
    assert errors(one_node("shout"), catalogue) == []
    assert [p.kind for p in errors(one_node("whisper"), catalogue)] == ["unknown_contribution"]


def test_symphony_operators_of_one_name_from_two_plugins_are_a_conflict_naming_both(make_host: MakeHost) -> None:
    context = make_host(Nodes(), AlsoShouts()).load().context
    with pytest.raises(ProviderConflictError, match=r"both contribute 'shout' to symphony_operators") as caught:
        context.contributions("symphony_operators")
    assert "'Nodes'" in str(caught.value) and "'AlsoShouts'" in str(caught.value)


def test_symphony_instruments_join_the_catalogue_with_their_ports(make_host: MakeHost) -> None:
    catalogue = catalogue_of(make_host(Nodes()).load().context)
    assert catalogue.instruments["oracle"].provider == "Nodes"
    assert catalogue.instruments["oracle"].outputs == TEXT


class FlagsEveryWorkflow:
    @hookimpl
    def symphony_workflow_checks(self, context: HostContext) -> list[WorkflowCheck]:
        def check(workflow: Workflow) -> list[WorkflowProblem]:
            return [WorkflowProblem(kind="limit", message=f"{workflow.name} is flagged", nodes=tuple(workflow.nodes))]

        return [WorkflowCheck(name="flag", check=check)]


def test_symphony_workflow_checks_add_their_problems_to_the_report(make_host: MakeHost) -> None:
    catalogue = catalogue_of(make_host(Nodes(), FlagsEveryWorkflow()).load().context)
    assert [(p.message, p.nodes) for p in errors(one_node("shout"), catalogue)] == [("w is flagged", ("only",))]


class RefusesDrafts:
    @hookimpl
    def symphony_pre_validators(self, context: HostContext) -> list[PreValidatorSpec]:
        def check(request: CreateWorkflowRequest) -> None:
            if request.name.startswith("draft"):
                raise PreValidationError("name: drafts are not stored; rename it.")

        return [PreValidatorSpec(name="no-drafts", target="workflow", check=check)]


def test_symphony_pre_validators_run_in_the_pre_validation_port_naming_check_and_plugin(make_host: MakeHost) -> None:
    port = make_host(RefusesDrafts(), discover=True).load().context.port("pre_validation")
    port.validate_workflow_request(CreateWorkflowRequest(name="final", spec={}))
    with pytest.raises(PreValidationError, match=r"no-drafts \(RefusesDrafts\): name: drafts are not stored"):
        port.validate_workflow_request(CreateWorkflowRequest(name="draft 1", spec={}))


class Sizes(msgspec.Struct, forbid_unknown_fields=True):
    size: int = 1


class DeclaresOptions:
    @hookimpl
    def symphony_component_options(self, context: HostContext) -> list[ComponentOptionsSpec]:
        return [ComponentOptionsSpec(name="sizer", options=Sizes)]


def test_symphony_component_options_refuse_a_misspelt_key_when_the_host_loads(make_host: MakeHost) -> None:
    host = make_host(DeclaresOptions(), components={"sizer": {"options": {"sise": 3}}})
    with pytest.raises(ConfigurationError, match=r"components\.sizer\.options\.sise.*did you mean.*size"):
        host.load()


def test_symphony_component_options_accept_the_declared_keys(make_host: MakeHost) -> None:
    host = make_host(DeclaresOptions(), components={"sizer": {"options": {"size": 3}}}).load()
    assert host.context.component_config("sizer").options == {"size": 3}


def test_symphony_transports_of_the_builtins_each_make_a_transport(make_host: MakeHost) -> None:
    contributed: dict[str, tuple[str, TransportSpec]] = (
        make_host(discover=True).load().contributions("symphony_transports")
    )
    assert {"unix", "tcp", "stdio"} <= set(contributed)
    assert all(isinstance(spec.factory({}), Transport) for _plugin, spec in contributed.values())


def test_symphony_codecs_of_the_builtins_round_trip_an_envelope(make_host: MakeHost) -> None:
    contributed: dict[str, tuple[str, CodecSpec]] = make_host(discover=True).load().contributions("symphony_codecs")
    envelope = MessageEnvelope.create(RequestPayload(method="ping"), sender="a", recipient="b")
    assert {spec.content_type for _plugin, spec in contributed.values()} >= {"application/msgpack", "application/json"}
    assert all(spec.decode(spec.encode(envelope)) == envelope for _plugin, spec in contributed.values())


def test_symphony_extension_runtimes_of_the_sandbox_serve_every_runtime_kind(make_host: MakeHost) -> None:
    contributed: dict[str, tuple[str, RuntimeSpec]] = (
        make_host(discover=True).load().contributions("symphony_extension_runtimes")
    )
    assert sorted(contributed) == ["mcp", "python", "subprocess", "wasm"]


class Hello:
    @hookimpl
    def symphony_register_commands(self, cli: click.Group, context: HostContext) -> None:
        @cli.command("hello")
        @click.argument("name")
        def hello(name: str) -> None:
            """Greet NAME from the data directory."""
            click.echo(f"hello {name} from {context.data_dir.name}")


class BreaksItsCommands:
    @hookimpl
    def symphony_register_commands(self, cli: click.Group, context: HostContext) -> None:
        raise RuntimeError("no commands today")


def test_symphony_register_commands_adds_a_top_level_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_host: MakeHost
) -> None:
    monkeypatch.chdir(tmp_path)
    factory = HostFactory(None, [])
    factory._host = make_host(BreaksItsCommands(), Hello()).load()
    result = CliRunner().invoke(cli, ["hello", "Ada"], obj=factory)
    assert result.exit_code == 0, result.output
    assert result.output == "hello Ada from data\n"


class Checks:
    @hookimpl
    def symphony_health_checks(self, context: HostContext) -> list[HealthCheck]:
        def broken() -> HealthStatus:
            raise OSError("disk unplugged")

        async def fine() -> HealthStatus:
            return HealthStatus.ok("all good")

        return [HealthCheck(name="disk", check=broken), HealthCheck(name="cache", check=fine)]


async def test_symphony_health_checks_report_a_raising_check_as_failed_and_the_others_as_they_are(
    make_host: MakeHost,
) -> None:
    async with make_host(Checks()) as host:
        health = await host.health()
    assert health.checks["cache"].status == "ok"
    assert health.checks["disk"].status == "failed"
    assert health.checks["disk"].message == "health check 'disk' of plugin 'Checks' raised OSError('disk unplugged')"
