"""Admission: a node attempt starts only once the arbitration engine grants what it needs.

Each attempt asks for ``slots = 1`` plus the node's ``config.run.resources`` and
holds the grant until the attempt ends (succeeded, failed, cancelled or
preempted).  While the request waits, the engine's explanation is polled and
handed to ``on_wait`` whenever it changes (not when only the time waited grows),
so the run can publish and record it without a write per poll.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import time
from collections.abc import Callable
from typing import Final

from symphony.hookspecs import SymphonyError
from symphony.hookspecs.ports import ArbitrationEnginePort, ResourceGrant, ResourceRequest, WaitExplanation

from .options import NodeOptions

__all__ = ["Admission", "QueueTimeoutError", "describe_wait", "os_user"]

#: Seconds between two looks at a waiting request's explanation.
POLL: Final = 0.1
#: Waiting requests of a run asked about one by one; more are read from one ``waiting()`` walk.
_ASKED_ONE_BY_ONE: Final = 4
#: Requesters named in one explanation line; the rest are counted.
_BEHIND_SHOWN: Final = 3

OnWait = Callable[[str, WaitExplanation | None], None]
_log = logging.getLogger(__name__)


class QueueTimeoutError(SymphonyError, TimeoutError):
    """A node waited for its resources longer than its ``queue_timeout``.

    Its category is not ``timeout``: the default ``retry_on`` must not queue the node again.
    """

    category = "arbitration.queue_timeout"


def os_user() -> str:
    """The name of the user running this process (what fair sharing counts a run against by default)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return "unknown"


def describe_wait(explanation: WaitExplanation) -> str:
    """One line: ``waiting for slots=1 (behind 3f2a/summarise): quota: user 'bob' holds 4 of 4 slots``."""
    lacking = ", ".join(f"{name}={_amount(amount)}" for name, amount in explanation.lacking.items())
    text = f"waiting for {lacking or 'its turn'}"
    if explanation.behind:
        shown = ", ".join(explanation.behind[:_BEHIND_SHOWN])
        more = len(explanation.behind) - _BEHIND_SHOWN
        text += f" (behind {shown}{f' and {more} more' if more > 0 else ''})"
    return f"{text}: {explanation.reason}" if explanation.reason else text


def _amount(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class Admission:
    """One run's door to the arbitration engine: acquire before an attempt, release after it.

    While requests of the run wait, one timer looks at their explanations every ``POLL``
    seconds for all of them together: a few are asked for one by one (``explain``), many
    with one ``waiting()`` walk of the engine's queue, so a run of thousands of waiting
    nodes costs one walk per look, not one per node.
    """

    def __init__(
        self,
        engine: ArbitrationEnginePort,
        run_id: str,
        *,
        user: str,
        priority: int,
        on_wait: OnWait,
    ) -> None:
        self.engine = engine
        self.run_id = run_id
        self.user = user
        self.priority = priority
        self.on_wait = on_wait
        self._waits: dict[str, _Wait] = {}
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None

    def request(self, node_id: str, options: NodeOptions) -> ResourceRequest:
        return ResourceRequest(
            requester=f"{self.run_id}/{node_id}",
            resources={"slots": 1.0, **options.resources},
            priority=options.priority if options.priority is not None else self.priority,
            user=self.user,
            run_id=self.run_id,
            timeout=options.queue_timeout,
            preemptible=options.preemptible,
            description=f"node {node_id!r} of run {self.run_id}",
        )

    async def acquire(
        self, node_id: str, options: NodeOptions, on_preempt: Callable[[], None] | None = None
    ) -> ResourceGrant:
        """The grant for one attempt of ``node_id``; reports each change of why it waits, then that it stopped.

        The engine is awaited directly (cancelling the node withdraws the request, as the port
        promises); the look at explanations is a timer beside it, which a grant made at once
        cancels before it ever runs, so admission by a free engine costs no extra loop turn.

        Raises QueueTimeoutError (naming what it waited for) past the node's ``queue_timeout``;
        the engine's ValidationError (a request no capacity satisfies) passes through.
        """
        request = self.request(node_id, options)
        wait = self._waits[node_id] = _Wait(request.requester)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_soon(self._look)
        try:
            return await self.engine.acquire(request, on_preempt)
        except TimeoutError:
            waited = time.monotonic() - wait.began
            what = describe_wait(wait.last) if wait.last is not None else f"waiting for {_resources(request)}"
            limit = (
                "the arbitration engine's timeout (components.arbitration.options.timeout)"
                if options.queue_timeout is None
                else f"its queue_timeout of {options.queue_timeout:g} s"
            )
            raise QueueTimeoutError(
                f"Node {node_id!r} waited {waited:.1f} s for its resources, past {limit}; it was {what}."
                " Raise config.run.queue_timeout, lower its config.run.resources, or free them"
                " (see `symphony runs show` of the runs it waited behind)."
            ) from None
        finally:
            del self._waits[node_id]
            if not self._waits and self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if wait.last is not None:
                self.on_wait(node_id, None)

    async def release(self, grant: ResourceGrant) -> None:
        await self.engine.release(grant)

    def _look(self) -> None:
        """Report each waiting node whose explanation changed, then look again in ``POLL`` seconds."""
        self._timer = None
        if not self._waits:
            return
        try:
            if len(self._waits) <= _ASKED_ONE_BY_ONE:
                found = {w.requester: self.engine.explain(w.requester) for w in self._waits.values()}
            else:
                found = {e.requester: e for e in self.engine.waiting()}
            for node_id, wait in list(self._waits.items()):
                explanation = found.get(wait.requester)
                if explanation is not None and wait.changed(explanation):
                    wait.last = explanation
                    self.on_wait(node_id, explanation)
        except Exception:  # an explanation is a courtesy: failing to give one must not stop the nodes
            _log.exception("explaining the waits of run %s failed", self.run_id)
        self._timer = asyncio.get_running_loop().call_later(POLL, self._look)


class _Wait:
    """One waiting request: since when, and the explanation last reported."""

    __slots__ = ("began", "last", "requester")

    def __init__(self, requester: str) -> None:
        self.requester = requester
        self.began = time.monotonic()
        self.last: WaitExplanation | None = None

    def changed(self, explanation: WaitExplanation) -> bool:
        """Whether it differs from the last report in what it says (not merely in the time waited)."""
        last = self.last
        return last is None or (explanation.lacking, explanation.behind, explanation.reason) != (
            last.lacking,
            last.behind,
            last.reason,
        )


def _resources(request: ResourceRequest) -> str:
    return ", ".join(f"{name}={_amount(amount)}" for name, amount in request.resources.items())
