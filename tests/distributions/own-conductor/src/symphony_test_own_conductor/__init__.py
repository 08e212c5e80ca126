"""A distribution whose profile replaces the builtin conductor with its own.

:class:`RecordingConductor` logs every port call to
``DATA_DIR/own-conductor.log`` (one JSON line each).  A run "succeeds" at
once, its one output ``echo`` naming the workflow it was given; the sink gets
``run.finished``.  It keeps runs in memory: one conductor, one process.
"""

from __future__ import annotations

import json
import uuid
from os import PathLike
from pathlib import Path
from typing import Any

from symphony.hookspecs import DistroProfile, Event, ExecutionId, NotFoundError, ValidationError, hookimpl
from symphony.hookspecs.ports import (
    ConductorStatus,
    HostContext,
    OrchestrationRequest,
    OrchestrationResult,
    RunSink,
)

PROFILE = DistroProfile(
    name="own-conductor",
    description="Sees workflows through on the own-conductor plugin instead of the builtin conductor.",
    providers={"conductor": "own-conductor"},
)


def _name(workflow: Any) -> str:
    if isinstance(workflow, dict):
        return str(workflow.get("id", "a document"))
    if isinstance(workflow, str | PathLike):
        return Path(workflow).name
    return type(workflow).__name__


class RecordingConductor:
    """The ``conductor`` port: every run ends when it is submitted; each call is logged."""

    def __init__(self, log: Path) -> None:
        self._log = log
        self._results: dict[str, OrchestrationResult] = {}
        self._closed = False

    def _record(self, method: str, **details: Any) -> None:
        self._log.parent.mkdir(parents=True, exist_ok=True)
        with self._log.open("a") as log:
            log.write(json.dumps({"method": method, **details}) + "\n")

    async def orchestrate(self, request: OrchestrationRequest) -> OrchestrationResult:
        self._record("orchestrate")
        return await self.result(await self.submit(request))

    async def submit(self, request: OrchestrationRequest, sink: RunSink | None = None) -> ExecutionId:
        if self._closed:
            raise ValidationError("own-conductor is closed.")
        run_id = ExecutionId(request.resume or uuid.uuid4().hex)
        outputs = {"echo": f"own-conductor ran {_name(request.workflow)}"}
        self._results[run_id] = OrchestrationResult(execution_id=run_id, state="succeeded", outputs=outputs)
        self._record("submit", run=run_id, inputs=dict(request.inputs), sink=sink is not None)
        if sink is not None:
            sink(Event(topic="run.finished", source="own-conductor", data={"run_id": run_id}))
        return run_id

    async def result(self, execution_id: ExecutionId, timeout: float | None = None) -> OrchestrationResult:
        self._record("result", run=execution_id)
        try:
            return self._results[execution_id]
        except KeyError:
            raise NotFoundError(f"own-conductor knows no run {execution_id}.") from None

    async def cancel(self, execution_id: ExecutionId) -> None:
        self._record("cancel", run=execution_id)
        result = await self.result(execution_id)
        raise ValidationError(f"Run {execution_id} already {result.state}; own-conductor cannot cancel it.")

    async def get_status(self) -> ConductorStatus:
        self._record("get_status")
        return ConductorStatus(state="stopped" if self._closed else "idle")

    async def close(self) -> None:
        self._record("close")
        self._closed = True


@hookimpl
def symphony_provide_conductor(context: HostContext) -> RecordingConductor:
    return RecordingConductor(context.data_dir / "own-conductor.log")
