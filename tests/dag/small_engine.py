"""A small arbitration engine honouring ``ArbitrationEnginePort``, for the tracker's admission tests.

Strict order (priority, then arrival), all-or-nothing grants, time-outs, preemption of
preemptible holders of lower priority, and explanations; nothing more.  The builtin
engine (``pit/arbitration``) is tested on its own; these tests pin down what the tracker
does with whatever engine serves the port.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from symphony.hookspecs import ValidationError
from symphony.hookspecs.ports import ResourceGrant, ResourceRequest, WaitExplanation


@dataclass
class _Waiter:
    request: ResourceRequest
    future: asyncio.Future[ResourceGrant]
    order: int
    since: float = field(default_factory=time.monotonic)
    on_preempt: Callable[[], None] | None = None


class SmallEngine:
    def __init__(self, **capacity: float) -> None:
        self.capacity = capacity
        self.holdings: dict[str, tuple[ResourceGrant, ResourceRequest, Callable[[], None] | None]] = {}
        self.queue: list[_Waiter] = []
        self.preempted: list[str] = []
        self._ids = itertools.count(1)

    async def acquire(self, request: ResourceRequest, on_preempt: Callable[[], None] | None = None) -> ResourceGrant:
        for name, amount in request.resources.items():
            if name not in self.capacity:
                raise ValidationError(f"unknown resource {name!r}")
            if amount > self.capacity[name]:
                raise ValidationError(f"{name}={amount} exceeds the capacity {self.capacity[name]}")
        waiter = _Waiter(request, asyncio.get_running_loop().create_future(), next(self._ids), on_preempt=on_preempt)
        self.queue.append(waiter)
        self.queue.sort(key=lambda w: (-w.request.priority, w.order))
        self._grant()
        if not waiter.future.done():
            self._preempt_for(waiter)
        try:
            async with asyncio.timeout(request.timeout):
                return await asyncio.shield(waiter.future)
        except BaseException:
            if waiter in self.queue:
                self.queue.remove(waiter)
                self._grant()
            elif waiter.future.done() and not waiter.future.cancelled():
                await self.release(waiter.future.result())
            raise

    async def release(self, grant: ResourceGrant) -> None:
        if self.holdings.pop(grant.grant_id, None) is None:
            raise ValidationError(f"grant {grant.grant_id} was already released")
        self._grant()

    def explain(self, requester: str) -> WaitExplanation | None:
        for waiter in self.queue:
            if waiter.request.requester == requester:
                return self._explain(waiter)
        return None

    def waiting(self) -> list[WaitExplanation]:
        return [self._explain(waiter) for waiter in self.queue]

    def hold(self, requester: str, user: str, **resources: float) -> ResourceGrant:
        """Take resources at once, as another run would (the test releases them)."""
        grant = ResourceGrant(grant_id=f"g{next(self._ids)}", requester=requester, resources=resources)
        self.holdings[grant.grant_id] = (
            grant,
            ResourceRequest(requester=requester, resources=resources, user=user),
            None,
        )
        return grant

    def _free(self) -> dict[str, float]:
        free = dict(self.capacity)
        for grant, _, _ in self.holdings.values():
            for name, amount in grant.resources.items():
                free[name] -= amount
        return free

    def _grant(self) -> None:
        while self.queue:
            head = self.queue[0]
            free = self._free()
            if any(free[name] < amount for name, amount in head.request.resources.items()):
                return
            self.queue.pop(0)
            grant = ResourceGrant(
                grant_id=f"g{next(self._ids)}", requester=head.request.requester, resources=head.request.resources
            )
            self.holdings[grant.grant_id] = (grant, head.request, head.on_preempt)
            head.future.set_result(grant)

    def _preempt_for(self, waiter: _Waiter) -> None:
        for _, request, on_preempt in list(self.holdings.values()):
            if request.preemptible and request.priority < waiter.request.priority and on_preempt is not None:
                self.preempted.append(request.requester)
                on_preempt()

    def _explain(self, waiter: _Waiter) -> WaitExplanation:
        free = self._free()
        lacking = {n: a for n, a in waiter.request.resources.items() if free[n] < a}
        ahead = [w.request.requester for w in self.queue[: self.queue.index(waiter)]]
        holders = [r.requester for _, r, _ in self.holdings.values() if set(r.resources) & set(lacking)]
        users = sorted({r.user for _, r, _ in self.holdings.values() if set(r.resources) & set(lacking)})
        holders_text = ", ".join(repr(u) for u in users)
        reason = "; ".join(
            f"capacity: {holders_text} hold {self.capacity[n] - free[n]:g} of {self.capacity[n]:g} {n}" for n in lacking
        )
        return WaitExplanation(
            requester=waiter.request.requester,
            description=waiter.request.description,
            waited=time.monotonic() - waiter.since,
            lacking=lacking,
            behind=ahead + holders,
            reason=reason,
        )
