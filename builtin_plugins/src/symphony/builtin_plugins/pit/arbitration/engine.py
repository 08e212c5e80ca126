"""The builtin ``ArbitrationEnginePort``: all-or-nothing grants by priority, fair share, quotas and budgets.

A decision walks the waiting requests in grant order (:mod:`.queue`) and
grants the first that fits; requests it passes over may be *reserved* for
(what they need is set aside so nothing behind them takes it), and every
request of a higher priority class is.  The walk stops after
``backfill_depth`` requests, and at once when a resource every waiter needs
is exhausted, so a release with 1,000 waiters costs a few heap steps.
docs/arbitration.md states the policy; :mod:`.explain` puts a wait in words.
"""

from __future__ import annotations

import itertools
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from symphony.hookspecs import Event, ValidationError
from symphony.hookspecs.ports import ResourceGrant, ResourceRequest, WaitExplanation

from .explain import Verdict, explanation, timeout_message
from .limits import Limits
from .options import BUDGET_PREFIX
from .queue import WAITING, FairQueue, Waiter
from .status import BudgetStatus, Holder, Metrics, Status

if TYPE_CHECKING:  # imported where a request waits: every command imports this plugin, few wait
    import asyncio

__all__ = ["ArbitrationEngine"]

_log = logging.getLogger(__name__)
EPSILON: Final = 1e-9
SOURCE: Final = "arbitration"


@dataclass(slots=True)
class Held:
    """A grant not yet released."""

    grant: ResourceGrant
    request: ResourceRequest
    need: dict[str, float]
    on_preempt: Callable[[], None] | None
    since: float
    preempting: bool = False


@dataclass(slots=True)
class _Window:
    """A budget's current fixed window."""

    limit: float
    period: float
    ends: float


class Walk:
    """One walk's state: what is set aside for blocked requests ahead, and by whom (made per decision)."""

    __slots__ = ("aside", "blocked", "by", "first", "holders", "pending", "priority")

    def __init__(self) -> None:
        self.aside: dict[str, float] = {}
        self.by: dict[str, list[Waiter]] = {}
        #: Blocked requests of the current class not reserved for (set aside when the walk reaches a lower class).
        self.pending: list[Waiter] = []
        self.blocked: list[Waiter] = []
        #: The first requesters walked, and the first holders of each resource (for explanations).
        self.first: list[str] = []
        self.holders: dict[str, list[str]] = {}
        self.priority: int | None = None


class ArbitrationEngine:
    """Grants resources all or nothing; see docs/arbitration.md for who goes first and why."""

    def __init__(
        self,
        limits: Limits,
        *,
        emit: Callable[[Event], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self._emit = emit
        self._clock = clock
        now = clock()
        self._windows = {name: _Window(b.limit, b.period, now + b.period) for name, b in limits.budgets.items()}
        self._total = {**limits.capacity, **{name: b.limit for name, b in limits.budgets.items()}}
        self._free = dict(self._total)
        self._queue = FairQueue(limits.weights)
        self._needers: dict[str, int] = dict.fromkeys(self._total, 0)
        self._held: dict[str, Held] = {}
        self._preemptible = 0  # grants held that may be asked back
        self._quotas = bool(limits.user_quotas or limits.run_quotas)
        self._held_user: dict[str, dict[str, float]] = {}
        self._held_run: dict[str, dict[str, float]] = {}
        self._by_requester: dict[str, list[Waiter]] = {}
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(4)  # grant ids of two engines never collide
        self._dispatching = False
        self._refill_timer: asyncio.TimerHandle | None = None
        self._refill_at = 0.0
        self.metrics = Metrics()

    # -- the port ---------------------------------------------------------------------------------

    async def acquire(self, request: ResourceRequest, on_preempt: Callable[[], None] | None = None) -> ResourceGrant:
        """Wait until every requested resource is free for this requester, then reserve them all at once."""
        need = self._validate(request)
        cost = max((amount / self._total[name] for name, amount in need.items()), default=0.0)
        now = self._clock()
        self._refill(now)
        waiter = Waiter(request, need, cost, now, on_preempt)
        if not self._queue.live and self._grantable(waiter):
            self._queue.charge(request, cost)
            return self._take(waiter, 0.0, now)
        import asyncio

        loop = asyncio.get_running_loop()
        waiter.future = loop.create_future()
        self._enqueue(waiter)
        self._dispatch()
        if waiter.future.done():
            return waiter.future.result()  # type: ignore[no-any-return]
        self.metrics.waits += 1
        self._publish("arbitration.waiting", request, position=len(self._queue))
        timeout = request.timeout if request.timeout is not None else self.limits.timeout
        if timeout is not None:
            waiter.timer = loop.call_later(timeout, self._expire, waiter, timeout)
        try:
            grant: ResourceGrant = await waiter.future
        except asyncio.CancelledError:
            if waiter.state == WAITING:
                self._withdraw(waiter)
                self.metrics.cancellations += 1
                self._dispatch()
            elif waiter.future.done() and not waiter.future.cancelled() and waiter.future.exception() is None:
                self._give_back(waiter.future.result())  # granted as the task was cancelled: nobody holds it
            raise
        return grant

    async def release(self, grant: ResourceGrant) -> None:
        """Free the grant's resources (budgets stay consumed) and grant what now fits."""
        self._give_back(grant)

    def explain(self, requester: str) -> WaitExplanation | None:
        """Why ``requester`` waits now (the first of its requests in grant order, if it has several), or None."""
        if requester not in self._by_requester:
            return None
        for waiter, verdict, walk, ahead in self._walk_all():
            if waiter.request.requester == requester:
                return explanation(self, waiter, verdict, walk, ahead)
        return None

    def waiting(self) -> list[WaitExplanation]:
        """Every waiting request's explanation, in the order the engine would grant them."""
        return [explanation(self, w, verdict, walk, ahead) for w, verdict, walk, ahead in self._walk_all()]

    # -- read by explanations, status and tests ------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    def total(self, resource: str) -> float:
        return self._total[resource]

    def free(self, resource: str) -> float:
        return self._free[resource]

    def holders(self, resource: str) -> Iterator[Held]:
        """Grants holding some of ``resource``, oldest first."""
        return (held for held in self._held.values() if held.need.get(resource, 0.0) > 0)

    def held_by(self, kind: str, who: str) -> dict[str, float]:
        return (self._held_user if kind == "user" else self._held_run).get(who, {})

    def quota_of(self, kind: str, who: str) -> dict[str, float]:
        quotas = self.limits.user_quotas if kind == "user" else self.limits.run_quotas
        return quotas.get(who) or quotas.get("*") or {}

    def refills_in(self, resource: str) -> float:
        """Seconds until budget ``resource`` is refilled."""
        return max(0.0, self._windows[resource].ends - self._clock())

    def status(self) -> Status:
        """Capacity, free amounts, budgets, holders and waiters, for the health check and ``arbitration status``."""
        now = self._clock()
        return Status(
            capacity=dict(self._total),
            free=dict(self._free),
            budgets={
                name: BudgetStatus(
                    limit=w.limit, period=w.period, left=self._free[name], refills_in=max(0.0, w.ends - now)
                )
                for name, w in self._windows.items()
            },
            quotas={
                **{f"user:{who}": dict(q) for who, q in self.limits.user_quotas.items()},
                **{f"run:{who}": dict(q) for who, q in self.limits.run_quotas.items()},
            },
            weights=dict(self.limits.weights),
            holders=[
                Holder(
                    requester=h.request.requester,
                    resources=dict(h.need),
                    priority=h.request.priority,
                    user=h.request.user,
                    run_id=h.request.run_id,
                    held=max(0.0, now - h.since),
                    preemptible=h.request.preemptible,
                )
                for h in self._held.values()
            ],
            waiting=self.waiting(),
        )

    def refill(self) -> None:
        """Start any budget window that is due by the clock and grant what now fits (the refill timer calls this)."""
        self._refill_timer = None
        self._refill(self._clock())
        self._dispatch()

    # -- validation -------------------------------------------------------------------------------------

    def _validate(self, request: ResourceRequest) -> dict[str, float]:
        who = request.description or repr(request.requester)
        if not isinstance(request.resources, dict):
            raise ValidationError(f"Request of {who}: resources must be a table of name -> amount.")
        need: dict[str, float] = {}
        problems: list[str] = []
        total = self._total
        for name, amount in request.resources.items():
            if type(amount) is float and name in total and 0 < amount <= total[name]:  # the common case, quickly
                need[name] = amount
            elif name not in total:
                problems.append(
                    f"unknown resource {name!r} (known: {', '.join(sorted(self._total))}; declare others in"
                    " [components.arbitration.options] capacity or budgets)"
                )
            elif isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount):
                problems.append(f"{name} = {amount!r} is not a finite number")
            elif amount < 0:
                problems.append(f"{name} = {amount!r} is negative")
            elif amount > self._total[name] + EPSILON:
                problems.append(
                    f"{name} = {amount:g} exceeds the total capacity {self._total[name]:g} (it could never be granted)"
                )
            elif amount > 0:
                need[name] = float(amount)
        for kind, whom in (("user", request.user), ("run", request.run_id)) if self._quotas else ():
            if kind == "run" and not whom:
                continue
            for name, limit in self.quota_of(kind, whom).items():
                if need.get(name, 0.0) > limit + EPSILON:
                    problems.append(f"{name} = {need[name]:g} exceeds {kind} {whom!r}'s quota of {limit:g}")
        if isinstance(request.priority, bool) or not isinstance(request.priority, int):
            problems.append(f"priority = {request.priority!r} must be an integer")
        timeout = request.timeout
        if timeout is not None and (not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0):
            problems.append(f"timeout = {timeout!r} must be a positive number of seconds")
        if problems:
            raise ValidationError(f"Request of {who} cannot be granted: {'; '.join(problems)}.")
        return need

    # -- deciding ---------------------------------------------------------------------------------------------

    def _verdict(self, waiter: Waiter, walk: Walk | None) -> Verdict | None:
        """None when ``waiter`` may be granted now, else what stops it."""
        if self._quotas:
            request = waiter.request
            for kind, whom in (("user", request.user), ("run", request.run_id)):
                quota = self.quota_of(kind, whom) if (kind == "user" or whom) else {}
                if quota:
                    held = self.held_by(kind, whom)
                    for name, amount in waiter.need.items():
                        limit = quota.get(name)
                        if limit is not None and held.get(name, 0.0) + amount > limit + EPSILON:
                            return Verdict("quota", name, kind, whom)
        free = self._free
        aside = walk.aside if walk is not None else {}
        blocked: Verdict | None = None
        for name, amount in waiter.need.items():
            if free[name] + EPSILON < amount:
                kind = "budget" if name.startswith(BUDGET_PREFIX) else "capacity"
                if kind == "budget":
                    return Verdict("budget", name)
                blocked = blocked or Verdict("capacity", name)
            elif blocked is None and aside and free[name] - aside.get(name, 0.0) + EPSILON < amount:
                blocked = Verdict("aside", name)
        return blocked

    def _dispatch(self) -> None:
        """Grant waiting requests, in order, while one fits."""
        if self._dispatching:
            return
        self._dispatching = True
        try:
            if self._windows:
                self._refill(self._clock())
            while self._queue.live and self._grant_one():
                pass
        finally:
            self._dispatching = False
        if self._windows:
            self._arm_refill()

    def _exhausted(self) -> bool:
        """Whether a resource every waiter needs is used up, so nothing can be granted."""
        live = self._queue.live
        free = self._free
        for name, count in self._needers.items():  # a plain loop: several times faster than any() over a generator
            if count == live and free[name] <= EPSILON:
                break
        else:
            return False
        return True

    def _grantable(self, waiter: Waiter) -> bool:
        """Whether ``waiter`` may be granted now with nothing set aside (the head, or anyone when nobody waits)."""
        return self._verdict(waiter, None) is None if self._quotas else self._fits(waiter)

    def _fits(self, waiter: Waiter) -> bool:
        """Whether ``waiter`` fits in what is free, quotas aside (the head's quick check)."""
        free = self._free
        for name, amount in waiter.need.items():
            if free[name] + EPSILON < amount:
                break
        else:
            return True
        return False

    def _grant_one(self) -> bool:
        head = self._queue.head()
        if head is not None and (head.future is None or head.future.done()):
            head = None  # cancelled, withdrawn below
        if head is not None and self._grantable(head):
            self._grant(head)  # the common case: the first in grant order fits, nothing to walk
            return True
        if self._exhausted():
            if self._preemptible and head is not None:  # the head may still preempt lower priorities
                self._maybe_preempt(head)
            return False
        walk = Walk()
        depth = self.limits.backfill_depth
        for seen, waiter in enumerate(self._queue, 1):
            if waiter.future is not None and waiter.future.done():  # its task was cancelled and has not run since
                self._withdraw(waiter)
                self.metrics.cancellations += 1
                return True
            verdict = self._step(waiter, walk)
            if verdict is None:
                for ahead in walk.blocked:
                    ahead.passed += 1
                self._grant(waiter)
                return True
            if seen >= depth:
                break
        return False

    def _step(self, waiter: Waiter, walk: Walk) -> Verdict | None:
        """Judge one waiter in walk order, setting aside for it when it is blocked and owed."""
        priority = waiter.request.priority
        if walk.priority != priority:
            for earlier in walk.pending:  # a lower class never takes what a higher one waits for
                self._set_aside(earlier, walk)
            walk.pending = []
            walk.blocked = []
            walk.priority = priority
        verdict = self._verdict(waiter, walk)
        if verdict is None or verdict.rule == "quota":
            return verdict
        if verdict.rule == "capacity":
            self._maybe_preempt(waiter)
        if self._reserved(waiter):
            self._set_aside(waiter, walk)
        else:
            walk.pending.append(waiter)
        walk.blocked.append(waiter)
        return verdict

    def _reserved(self, waiter: Waiter) -> bool:
        limits = self.limits
        return waiter.passed >= limits.reserve_after or self._clock() - waiter.since >= limits.reserve_seconds

    def _set_aside(self, waiter: Waiter, walk: Walk) -> None:
        lacks_budget = any(
            self._free[name] + EPSILON < amount
            for name, amount in waiter.need.items()
            if name.startswith(BUDGET_PREFIX)
        )
        for name, amount in waiter.need.items():
            if lacks_budget and not name.startswith(BUDGET_PREFIX):
                continue  # it cannot run before the refill: holding slots idle for it would help nobody
            walk.aside[name] = walk.aside.get(name, 0.0) + amount
            walk.by.setdefault(name, []).append(waiter)

    def _walk_all(self) -> Iterator[tuple[Waiter, Verdict | None, Walk, int]]:
        """Every waiter in order with what would stop it now (None: it fits but is beyond the backfill window)."""
        walk = Walk()
        ahead = 0
        for waiter in self._queue:
            if waiter.future is not None and waiter.future.done():
                continue  # cancelled: withdrawn by the next decision
            verdict = self._judge(waiter, walk)
            yield waiter, verdict, walk, ahead
            ahead += 1
            if len(walk.first) < 5:
                walk.first.append(waiter.request.requester)

    def _judge(self, waiter: Waiter, walk: Walk) -> Verdict | None:
        """As ``_step`` without side effects on waiters (no preemption, no passing)."""
        priority = waiter.request.priority
        if walk.priority != priority:
            for earlier in walk.pending:
                self._set_aside(earlier, walk)
            walk.pending = []
            walk.priority = priority
        verdict = self._verdict(waiter, walk)
        if verdict is not None and verdict.rule != "quota":
            if self._reserved(waiter):
                self._set_aside(waiter, walk)
            else:
                walk.pending.append(waiter)
        return verdict

    # -- preemption -------------------------------------------------------------------------------------------

    def _maybe_preempt(self, waiter: Waiter) -> None:
        """Ask preemptible lower-priority holders to give back what ``waiter`` lacks, once, if that would suffice."""
        if waiter.asked_preemption or not self._preemptible:
            return
        priority = waiter.request.priority
        lacking = {
            name: amount - self._free[name]
            for name, amount in waiter.need.items()
            if amount > self._free[name] + EPSILON and not name.startswith(BUDGET_PREFIX)
        }
        if not lacking:
            return
        candidates = sorted(
            (h for h in self._held.values() if h.request.preemptible and h.request.priority < priority),
            key=lambda h: (h.request.priority, -h.since),
        )
        chosen: list[Held] = []
        for held in candidates:
            if all(amount <= EPSILON for amount in lacking.values()):
                break
            if any(held.need.get(name, 0.0) > 0 for name in lacking):
                if not held.preempting:
                    chosen.append(held)
                for name in lacking:
                    lacking[name] -= held.need.get(name, 0.0)
        if any(amount > EPSILON for amount in lacking.values()):
            return  # preempting would not be enough: take nothing from anyone
        waiter.asked_preemption = True
        for held in chosen:
            held.preempting = True
            self.metrics.preemptions += 1
            self._publish(
                "arbitration.preempted", held.request, grant_id=held.grant.grant_id, by=waiter.request.requester
            )
            if held.on_preempt is not None:
                try:
                    held.on_preempt()
                except Exception:  # a holder's callback must not break the decision for everyone else
                    _log.exception("on_preempt of %s raised", held.request.requester)

    # -- state changes ---------------------------------------------------------------------------------------

    def _enqueue(self, waiter: Waiter) -> None:
        self._queue.push(waiter)
        for name in waiter.need:
            self._needers[name] += 1
        self._by_requester.setdefault(waiter.request.requester, []).append(waiter)

    def _unlist(self, waiter: Waiter) -> None:
        for name in waiter.need:
            self._needers[name] -= 1
        if waiter.timer is not None:
            waiter.timer.cancel()
        same = self._by_requester[waiter.request.requester]
        same.remove(waiter)
        if not same:
            del self._by_requester[waiter.request.requester]

    def _withdraw(self, waiter: Waiter) -> None:
        self._queue.remove(waiter)
        self._unlist(waiter)

    def _grant(self, waiter: Waiter) -> None:
        self._queue.grant(waiter)
        self._unlist(waiter)
        now = self._clock()
        waited = now - waiter.since
        grant = self._take(waiter, waited, now)
        self.metrics.wait_seconds += waited
        self.metrics.max_wait = max(self.metrics.max_wait, waited)
        assert waiter.future is not None
        waiter.future.set_result(grant)

    def _take(self, waiter: Waiter, waited: float, now: float) -> ResourceGrant:
        """Reserve ``waiter``'s resources and record the grant."""
        request = waiter.request
        free = self._free
        for name, amount in waiter.need.items():
            free[name] -= amount
        if self._quotas:  # holdings per user and run are what quotas are checked against
            self._count(self._held_user, request.user, waiter.need, 1)
        if self._quotas and request.run_id:
            self._count(self._held_run, request.run_id, waiter.need, 1)
        grant = ResourceGrant(
            grant_id=f"{self._prefix}-{next(self._ids)}", requester=request.requester, resources=dict(waiter.need)
        )
        self._held[grant.grant_id] = Held(grant, request, waiter.need, waiter.on_preempt, now)
        self._preemptible += request.preemptible
        self.metrics.grants += 1
        if self._emit is not None:
            self._publish("arbitration.granted", request, grant_id=grant.grant_id, waited=waited)
        return grant

    def _give_back(self, grant: ResourceGrant) -> None:
        held = self._held.pop(getattr(grant, "grant_id", None), None)  # type: ignore[arg-type]
        if held is None:
            raise ValidationError(
                f"Grant {getattr(grant, 'grant_id', grant)!r} of {getattr(grant, 'requester', '?')!r} was already"
                " released or was not given out by this engine."
            )
        free = self._free
        budgets = self._windows
        for name, amount in held.need.items():
            if name not in budgets:  # budgets are consumed, not returned
                free[name] += amount
        request = held.request
        self._preemptible -= request.preemptible
        if self._quotas:
            self._count(self._held_user, request.user, held.need, -1)
        if self._quotas and request.run_id:
            self._count(self._held_run, request.run_id, held.need, -1)
        if self._emit is not None:
            self._publish(
                "arbitration.released", request, grant_id=held.grant.grant_id, held=self._clock() - held.since
            )
        self._dispatch()

    @staticmethod
    def _count(table: dict[str, dict[str, float]], who: str, need: dict[str, float], sign: int) -> None:
        held = table.setdefault(who, {})
        for name, amount in need.items():
            left = held.get(name, 0.0) + sign * amount
            if left > EPSILON:
                held[name] = left
            else:
                held.pop(name, None)
        if not held:
            del table[who]

    def _expire(self, waiter: Waiter, timeout: float) -> None:
        if waiter.state != WAITING or waiter.future is None or waiter.future.done():
            return
        message = self._timeout_message(waiter, timeout)
        self._withdraw(waiter)
        self.metrics.timeouts += 1
        self._publish("arbitration.timeout", waiter.request, waited=self._clock() - waiter.since, reason=message)
        waiter.future.set_exception(TimeoutError(message))
        self._dispatch()

    def _timeout_message(self, waiter: Waiter, timeout: float) -> str:
        for candidate, verdict, walk, ahead in self._walk_all():
            if candidate is waiter:
                return timeout_message(explanation(self, waiter, verdict, walk, ahead), timeout)
        return f"{waiter.request.requester} timed out after {timeout:g} s"

    # -- budgets ----------------------------------------------------------------------------------------------

    def _refill(self, now: float) -> None:
        for name, window in self._windows.items():
            if now >= window.ends:
                self._free[name] = window.limit
                window.ends = now + window.period - (now - window.ends) % window.period

    def _arm_refill(self) -> None:
        """Wake at the next window's start when a request waits on a budget."""
        if not self._queue:
            return
        due = [w.ends for name, w in self._windows.items() if self._needers[name]]
        if not due or (self._refill_timer is not None and self._refill_at <= min(due)):
            return
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._refill_timer is not None:
            self._refill_timer.cancel()
        self._refill_at = min(due)
        self._refill_timer = loop.call_later(max(0.0, self._refill_at - self._clock()), self.refill)

    def _publish(self, topic: str, request: ResourceRequest, **data: object) -> None:
        if self._emit is None:
            return
        payload = {
            "requester": request.requester,
            "resources": dict(request.resources),
            "priority": request.priority,
            "user": request.user,
            "run_id": request.run_id,
            **data,
        }
        try:
            self._emit(Event(topic=topic, source=SOURCE, data=payload))
        except Exception:  # a failing subscriber must not break a decision
            _log.exception("publishing %s failed", topic)
