"""The MCP server: workflows as tools, runs as resources, every call through the host's ports.

A tool call is checked against the workflow's typed inputs, then runs as an
``Invocation`` (target ``mcp:<workflow id>``) through ``HostContext.invoke``,
whose call asks the conductor port to orchestrate the run: ``symphony_invoke``
wrappers see it, and each extension node inside it meets the permission
checker, its audit and the distribution's policy as in ``symphony run``.
A failed run, a denial or bad arguments are a tool error (``isError``) with
the reason, never a protocol error, so an assistant can show it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Final

import mcp_types as types
import msgspec
from mcp.server import Server, ServerRequestContext

from symphony.hookspecs import ExecutionId, Invocation, SymphonyError, Workflow
from symphony.hookspecs.ports import ConductorPort, DagTrackerPort, HostContext, OrchestrationRequest, port_as

from ..workflow.types import holds, type_of
from .exposed import Exposed

__all__ = ["MAX_RUNS_KEPT", "RUN_SCHEME", "build_server", "check_arguments", "json_outputs"]

#: Runs are the resources ``symphony://runs/{id}``.
RUN_SCHEME: Final = "symphony://runs/"
#: Runs made here whose outputs are kept (the latest): a client calling tools for days must not grow the server.
#: An older run is still a resource, read from the tracker, without its outputs.
MAX_RUNS_KEPT: Final = 1000
_JSON: Final = "application/json"


def check_arguments(workflow: Workflow, arguments: Mapping[str, Any]) -> str | None:
    """What is wrong with ``arguments`` for the workflow's inputs, in one sentence; None when nothing is."""
    unknown = sorted(set(arguments) - set(workflow.inputs))
    if unknown:
        return f"unknown argument(s) {', '.join(map(repr, unknown))}; the inputs are: {', '.join(workflow.inputs)}"
    for name, spec in workflow.inputs.items():
        if name not in arguments:
            if spec.required:
                return f"argument {name!r} ({spec.type}) is required"
            continue
        value = arguments[name]
        if spec.type == "bytes" and isinstance(value, str):
            try:
                base64.b64decode(value, validate=True)  # sent base64-encoded, as the schema says
            except binascii.Error:
                return f"argument {name!r} (bytes) must be base64 text"
            continue
        if not holds(spec.type, value):
            return f"argument {name!r} must be {spec.type}, not {type_of(value)}"
    return None


def _decoded(workflow: Workflow, arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: base64.b64decode(value) if workflow.inputs[name].type == "bytes" else value
        for name, value in arguments.items()
    }


def json_outputs(outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """Outputs as JSON (bytes base64-encoded, as the output schema says); None when some value has no JSON form."""
    try:
        converted: dict[str, Any] = msgspec.to_builtins(dict(outputs), str_keys=True)
    except (TypeError, msgspec.EncodeError):
        return None
    return converted


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


class Bridge:
    """The state behind one server: the offered workflows, the host context, the runs made through it."""

    def __init__(self, context: HostContext, exposed: Mapping[str, Exposed]) -> None:
        self.context = context
        self.exposed = dict(exposed)
        self.runs: dict[str, dict[str, Any]] = {}

    async def list_tools(self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> Any:
        tools = [
            types.Tool(
                name=name,
                title=item.workflow.name,
                description=item.workflow.metadata.description or item.workflow.name,
                input_schema=item.input_schema,
                output_schema=item.output_schema,
            )
            for name, item in sorted(self.exposed.items())
        ]
        return types.ListToolsResult(tools=tools)

    async def call_tool(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> Any:
        item = self.exposed.get(params.name)
        if item is None:
            return _error(f"No workflow {params.name!r} is offered; the tools are: {', '.join(sorted(self.exposed))}")
        arguments = dict(params.arguments or {})
        problem = check_arguments(item.workflow, arguments)
        if problem is not None:
            return _error(f"{params.name}: {problem}.")
        conductor: ConductorPort = port_as(self.context, "conductor", ConductorPort, user="`symphony mcp serve`")

        async def run(inputs: Mapping[str, Any]) -> Any:
            return await conductor.orchestrate(OrchestrationRequest(workflow=item.workflow, inputs=dict(inputs)))

        invocation = Invocation(
            kind="operator",
            target=f"mcp:{params.name}",
            inputs=_decoded(item.workflow, arguments),
            call=run,
            plugin="mcp",
        )
        try:
            result = await self.context.invoke(invocation)
        except SymphonyError as error:
            return _error(f"{params.name}: {error}")
        run_id = str(result.execution_id)
        outputs = json_outputs(result.outputs)
        self.remember(
            {"run_id": run_id, "workflow": params.name, "state": result.state, "outputs": outputs or {}},
        )
        if result.state != "succeeded":
            return _error(f"{params.name}: run {run_id} {result.state}: {result.error or 'no reason given'}")
        if outputs is None:
            return _error(f"{params.name}: run {run_id} succeeded, but an output has no JSON form to send.")
        text = json.dumps({"run_id": run_id, "outputs": outputs}, ensure_ascii=False)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structured_content=outputs, meta={"run_id": run_id}
        )

    def remember(self, run: dict[str, Any]) -> None:
        """Remember ``run``, forgetting the oldest beyond :data:`MAX_RUNS_KEPT` (dicts keep insertion order)."""
        self.runs[run["run_id"]] = run
        while len(self.runs) > MAX_RUNS_KEPT:
            del self.runs[next(iter(self.runs))]

    async def list_resources(self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> Any:
        resources = [
            types.Resource(
                name=f"run {run_id}",
                uri=f"{RUN_SCHEME}{run_id}",
                description=f"{run['workflow']}: {run['state']}",
                mime_type=_JSON,
            )
            for run_id, run in self.runs.items()
        ]
        return types.ListResourcesResult(resources=resources)

    async def list_templates(self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> Any:
        template = types.ResourceTemplate(
            name="run",
            uri_template=RUN_SCHEME + "{id}",
            description="A workflow run: its state and outputs.",
            mime_type=_JSON,
        )
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def read_resource(self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams) -> Any:
        uri = str(params.uri)
        if not uri.startswith(RUN_SCHEME) or not uri[len(RUN_SCHEME) :]:
            raise ValueError(f"No resource {uri!r}: runs are {RUN_SCHEME}{{id}}.")
        run_id = uri[len(RUN_SCHEME) :]
        document = await self._run_document(run_id)
        text = json.dumps(document, ensure_ascii=False)
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type=_JSON, text=text)])

    async def _run_document(self, run_id: str) -> dict[str, Any]:
        """The tracker's status of the run (any run it knows), with the outputs of those made here."""
        tracker: DagTrackerPort = port_as(self.context, "dag_tracker", DagTrackerPort, user="`symphony mcp serve`")
        try:
            status = await tracker.status(ExecutionId(run_id))
        except SymphonyError as error:
            raise ValueError(f"No run {run_id!r}: {error}") from None
        document: dict[str, Any] = {
            "run_id": str(status.execution_id),
            "state": status.state,
            "nodes_total": status.nodes_total,
            "nodes_done": status.nodes_done,
            "nodes_failed": status.nodes_failed,
            "error": status.error,
        }
        made_here = self.runs.get(run_id)
        if made_here is not None:
            document |= {"workflow": made_here["workflow"], "outputs": made_here["outputs"]}
        return document


def build_server(context: HostContext, exposed: Mapping[str, Exposed], version: str) -> Server[Any]:
    """The low-level SDK server whose handlers are a :class:`Bridge` over ``context``."""
    bridge = Bridge(context, exposed)
    return Server(
        "symphony",
        version=version,
        instructions="Each tool runs one Symphony workflow; its runs are resources symphony://runs/{id}.",
        on_list_tools=bridge.list_tools,
        on_call_tool=bridge.call_tool,
        on_list_resources=bridge.list_resources,
        on_list_resource_templates=bridge.list_templates,
        on_read_resource=bridge.read_resource,
    )
