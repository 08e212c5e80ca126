"""The conductor's methods on the IPC envelope: names, params, results, and the serving handlers.

| method                  | params                                   | result                              |
|-------------------------|------------------------------------------|-------------------------------------|
| ``conductor.orchestrate`` | ``{workflow, inputs, resume}``          | an OrchestrationResult              |
| ``conductor.start``       | ``{workflow, inputs, resume}``          | ``{"execution_id": id}``            |
| ``conductor.wait``        | ``{execution_id, timeout}``             | an OrchestrationResult, or null     |
| ``conductor.status``      | ``{}``                                  | a ConductorStatus                   |
| ``conductor.cancel``      | ``{execution_id}``                      | ``{"execution_id": id, "cancelled": true}`` |

``workflow`` is a workflow document (the JSON form of docs/workflows.md) or a
path the serving process can read; ``wait`` returns null when the run has not
ended within ``timeout`` seconds (a long poll: ask again).  Failures are error
envelopes with their category (``data.validation`` for an invalid workflow or
inputs, ``workflow.format``, ``data.not_found`` for an unknown run).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar

import msgspec

from symphony.hookspecs import ExecutionId, ValidationError
from symphony.hookspecs.ports import ConductorPort, OrchestrationRequest, RunSink

from .workflows import workflow_of

__all__ = [
    "CANCEL",
    "ENDPOINT",
    "METHODS",
    "ORCHESTRATE",
    "START",
    "STATUS",
    "WAIT",
    "handlers",
    "request_of",
    "request_params",
]

#: The endpoint id a conductor is served under.
ENDPOINT: Final = "conductor"
ORCHESTRATE: Final = "conductor.orchestrate"
START: Final = "conductor.start"
WAIT: Final = "conductor.wait"
STATUS: Final = "conductor.status"
CANCEL: Final = "conductor.cancel"
METHODS: Final = (ORCHESTRATE, START, WAIT, STATUS, CANCEL)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class _WaitParams:
    execution_id: str
    timeout: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _RunParams:
    execution_id: str


def request_params(request: OrchestrationRequest) -> dict[str, Any]:
    """``request`` as ``start``/``orchestrate`` params; a path or Workflow is sent as its document."""
    workflow = None if request.resume is not None else msgspec.to_builtins(workflow_of(request.workflow))
    return {"workflow": workflow, "inputs": dict(request.inputs), "resume": request.resume}


def request_of(method: str, params: Mapping[str, Any]) -> OrchestrationRequest:
    """The request in ``params``; a wrong shape is a ValidationError naming the field."""
    return _convert(method, params, OrchestrationRequest)


def _convert(method: str, params: Mapping[str, Any], kind: type[T]) -> T:
    try:
        return msgspec.convert(dict(params), kind)
    except msgspec.ValidationError as error:
        where = str(error).replace("`$.", "`params.").replace("`$`", "`params`")
        raise ValidationError(f"Invalid params of {method!r}: {where}. See docs/runs.md, 'The conductor'.") from None


def handlers(conductor: ConductorPort, sink: RunSink | None = None) -> dict[str, Handler]:
    """The serving side: method -> ``async handler(params) -> result`` over any ``conductor``.

    ``sink`` receives the events of the runs these handlers start.
    """

    async def orchestrate(params: dict[str, Any]) -> Any:
        run_id = await conductor.submit(request_of(ORCHESTRATE, params), sink)
        return msgspec.to_builtins(await conductor.result(run_id))

    async def start(params: dict[str, Any]) -> Any:
        return {"execution_id": await conductor.submit(request_of(START, params), sink)}

    async def wait(params: dict[str, Any]) -> Any:
        asked = _convert(WAIT, params, _WaitParams)
        try:
            return msgspec.to_builtins(await conductor.result(ExecutionId(asked.execution_id), asked.timeout))
        except TimeoutError:
            return None

    async def status(params: dict[str, Any]) -> Any:
        current = await conductor.get_status()
        return msgspec.to_builtins(msgspec.structs.replace(current, mode="process", pid=os.getpid()))

    async def cancel(params: dict[str, Any]) -> Any:
        asked = _convert(CANCEL, params, _RunParams)
        await conductor.cancel(ExecutionId(asked.execution_id))
        return {"execution_id": asked.execution_id, "cancelled": True}

    table: dict[str, Handler] = {
        ORCHESTRATE: orchestrate,
        START: start,
        WAIT: wait,
        STATUS: status,
        CANCEL: cancel,
    }
    return {method: _portable(handler) for method, handler in table.items()}


def _portable(handler: Handler) -> Handler:
    """A ValidationError of a subclass (a tracker's own, say) crosses the wire as a ValidationError.

    The wire names its category (``data.validation``, as documented above);
    the subclass may need more than a message to be rebuilt, or be unknown to the client.
    """

    async def call(params: dict[str, Any]) -> Any:
        try:
            return await handler(params)
        except ValidationError as error:
            if type(error) is ValidationError:
                raise
            raise ValidationError(str(error)) from error

    return call
