"""The embedded conductor: validates a workflow, runs it on the DAG tracker, waits and reports.

It is the ``conductor`` port in the default (``embedded``) mode, and also what
``symphony conductor serve`` runs in its own process.  ``orchestrate`` is
``submit`` (validate and start, or resume: returns the run id at once)
followed by ``result`` (wait for the end), so that a remote caller learns the
run id before the run ends: if the conductor process dies mid-run, the caller
can still name the run to resume.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Literal, cast

from symphony.hookspecs import ExecutionId, NotFoundError, ValidationError
from symphony.hookspecs.ports import (
    ConductorStatus,
    DagTrackerPort,
    OrchestrationRequest,
    OrchestrationResult,
    RunOutcome,
    RunSink,
)

from .workflows import workflow_of

__all__ = ["EmbeddedConductor", "result_of"]

_State = Literal["succeeded", "failed", "cancelled"]


def result_of(run: RunOutcome) -> OrchestrationResult:
    """The port's view of a tracker's run result."""
    state = run.state if run.state in ("succeeded", "failed", "cancelled") else "failed"
    return OrchestrationResult(
        execution_id=ExecutionId(run.run_id), state=cast(_State, state), outputs=run.outputs, error=run.error
    )


class EmbeddedConductor:
    """The ``conductor`` port in this process, over a DAG tracker (any ``dag_tracker`` provider).

    :param tracker: a function giving the tracker on first use (the host's ``dag_tracker`` port).
    :param close_tracker: whether :meth:`close` also closes the tracker (if it was made), which
        cancels its runs (resumable): what a conductor process does when it stops.
    :param keep: finished results kept for late ``result`` calls (oldest dropped first).
    """

    mode: Literal["embedded", "process"] = "embedded"

    def __init__(self, tracker: Callable[[], DagTrackerPort], *, close_tracker: bool = False, keep: int = 256) -> None:
        self._make_tracker = tracker
        self._tracker: DagTrackerPort | None = None
        self._close_tracker = close_tracker
        self._keep = keep
        self._runs: dict[str, asyncio.Task[OrchestrationResult]] = {}
        self._finished: collections.deque[str] = collections.deque()
        self._closed = False

    @property
    def tracker(self) -> DagTrackerPort:
        if self._tracker is None:
            self._tracker = self._make_tracker()
        return self._tracker

    # -- the port -------------------------------------------------------------------

    async def orchestrate(self, request: OrchestrationRequest) -> OrchestrationResult:
        """Validate and run ``request.workflow`` (or resume ``request.resume``) and wait for the end.

        Raises ValidationError (every problem listed) for an invalid workflow or
        wrong inputs, WorkflowFormatError for a document or file that is not a
        workflow, NotFoundError for an unknown run to resume.
        """
        return await self.result(await self.submit(request))

    async def get_status(self) -> ConductorStatus:
        if self._closed:
            return ConductorStatus(state="stopped", mode=self.mode)
        active = self.active_runs()
        return ConductorStatus(state="busy" if active else "idle", active_runs=active, mode=self.mode)

    async def submit(self, request: OrchestrationRequest, sink: RunSink | None = None) -> ExecutionId:
        """Validate and start the run (or resume it); returns its id at once."""
        if self._closed:
            raise ValidationError("This conductor is stopped; it takes no more runs.")
        tracker = self.tracker
        if request.resume is not None:
            if request.inputs:
                raise ValidationError(
                    f"Resuming run {request.resume} uses its recorded inputs; give no inputs with `resume`."
                )
            run_id = await tracker.resume(request.resume, sink)
        else:
            workflow = workflow_of(request.workflow)
            run_id = await tracker.execute(workflow, request.inputs, sink)
        self._runs[run_id] = asyncio.get_running_loop().create_task(
            self._follow(run_id), name=f"symphony-conductor-{run_id}"
        )
        return run_id

    async def result(self, execution_id: str, timeout: float | None = None) -> OrchestrationResult:
        """The result of a run this conductor started, once it ends.

        Raises TimeoutError if it has not ended within ``timeout`` seconds (the
        run goes on), NotFoundError if this conductor did not start it.
        """
        task = self._runs.get(execution_id)
        if task is None:
            raise NotFoundError(
                f"Run {execution_id} was not started by this conductor (or finished long ago);"
                f" see `symphony runs show {execution_id}`."
            )
        return await asyncio.wait_for(asyncio.shield(task), timeout)

    async def cancel(self, execution_id: str) -> None:
        """Cancel a run (of this conductor, or any the tracker knows: see DagTrackerPort.cancel)."""
        await self.tracker.cancel(ExecutionId(execution_id))

    def active_runs(self) -> tuple[ExecutionId, ...]:
        return tuple(ExecutionId(run_id) for run_id, task in self._runs.items() if not task.done())

    async def close(self) -> None:
        """Take no more runs and stop following the running ones (and close the tracker, if asked to)."""
        self._closed = True
        if self._close_tracker and self._tracker is not None:
            await self._tracker.close()
        tasks = [task for task in self._runs.values() if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow(self, run_id: ExecutionId) -> OrchestrationResult:
        try:
            return result_of(await self.tracker.wait(run_id))
        finally:
            self._finished.append(run_id)
            while len(self._finished) > self._keep:
                old = self._finished.popleft()
                task = self._runs.get(old)
                if task is not None and task.done():  # not a later resume of the same run
                    del self._runs[old]

    def __repr__(self) -> str:
        return f"<EmbeddedConductor {len(self.active_runs())} active>"
