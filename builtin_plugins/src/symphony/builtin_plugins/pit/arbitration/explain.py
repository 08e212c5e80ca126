"""A wait in words: what a request lacks, behind whom, and the one rule that holds it back."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from symphony.hookspecs.ports import WaitExplanation

if TYPE_CHECKING:
    from .engine import ArbitrationEngine, Walk
    from .queue import Waiter

__all__ = ["Verdict", "amount", "explanation", "timeout_message"]

#: quota: its user's or run's quota; budget: a budget is spent until the refill; capacity: not enough is free;
#: aside: enough is free but set aside for a request of higher priority or a reserved one.
Rule = Literal["quota", "budget", "capacity", "aside"]
_MAX_NAMED = 5


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why a waiter cannot be granted now: the rule and the resource it failed on."""

    rule: Rule
    resource: str
    kind: str = ""  # quota: "user" or "run"
    whom: str = ""


def amount(resource: str, value: float) -> str:
    """``memory`` in binary units (``1.5GiB``), everything else as a plain number."""
    if resource == "memory" and value >= 1024:
        for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if value >= size:
                return f"{value / size:.3g}{unit}"
    return f"{value:g}"


def _amounts(values: dict[str, float]) -> str:
    return ", ".join(f"{name}={amount(name, value)}" for name, value in values.items())


def explanation(
    engine: ArbitrationEngine, waiter: Waiter, verdict: Verdict | None, walk: Walk, ahead: int
) -> WaitExplanation:
    """``waiter``'s explanation given the walk that reached it with ``verdict``."""
    request = waiter.request
    need = waiter.need
    lacking: dict[str, float] = {}
    behind: list[str] = []
    if verdict is None:
        depth = engine.limits.backfill_depth
        reason = (
            f"fair share: {ahead} request(s) are ahead of it in grant order (priority, then the users' and runs'"
            f" weighted usage) and each decision looks at the first {depth} only"
        )
        behind = walk.first[:_MAX_NAMED]
    elif verdict.rule == "quota":
        held = engine.held_by(verdict.kind, verdict.whom)
        limit = engine.quota_of(verdict.kind, verdict.whom)
        for name, value in need.items():
            if name in limit and held.get(name, 0.0) + value > limit[name]:
                lacking[name] = held.get(name, 0.0) + value - limit[name]
        name = verdict.resource
        reason = (
            f"quota: {verdict.kind} {verdict.whom!r} holds {amount(name, held.get(name, 0.0))} of"
            f" {amount(name, limit[name])} {name} and this request needs {amount(name, need[name])} more"
        )
        field = "user" if verdict.kind == "user" else "run_id"
        behind = [h.request.requester for h in engine.holders(name) if getattr(h.request, field) == verdict.whom][
            :_MAX_NAMED
        ]
    else:
        for name, value in need.items():
            available = engine.free(name) - (walk.aside.get(name, 0.0) if verdict.rule == "aside" else 0.0)
            if value > available + 1e-9:
                lacking[name] = value - max(0.0, available)
        name = verdict.resource
        free, total = engine.free(name), engine.total(name)
        if verdict.rule == "budget":
            budget = name.removeprefix("budget:")
            reason = (
                f"budget: {budget!r} has {free:g} of {total:g} left this period and this request needs"
                f" {need[name]:g}; it refills to {total:g} in {engine.refills_in(name):.1f} s"
            )
        elif verdict.rule == "capacity":
            reason = (
                f"capacity: {amount(name, free)} of {amount(name, total)} {name} free and this request needs"
                f" {amount(name, need[name])}"
            )
            if waiter.asked_preemption:
                reason += "; preemptible lower-priority holders were asked to give theirs back"
            if name not in walk.holders:  # one look at the grants per resource, however many waiters lack it
                walk.holders[name] = [h.request.requester for h in itertools.islice(engine.holders(name), _MAX_NAMED)]
            behind = walk.holders[name]
        else:
            owed = walk.by.get(name, [])
            higher = [w for w in owed if w.request.priority > request.priority]
            if higher:
                top = max(w.request.priority for w in higher)
                reason = (
                    f"priority: {len(higher)} waiting request(s) of priority {top} need the {name} first"
                    f" (this one has priority {request.priority})"
                )
            else:
                first = owed[0] if owed else None
                who = repr(first.request.requester) if first else "earlier requests"
                reason = (
                    f"reservation: the free {name} is kept for {who}, which was passed over too often or waited too"
                    f" long (after {engine.limits.reserve_after} grants or {engine.limits.reserve_seconds:g} s)"
                )
            behind = [w.request.requester for w in owed][:_MAX_NAMED]
        if ahead and verdict.rule != "aside":
            reason += f"; {ahead} request(s) are ahead of it in grant order"
    return WaitExplanation(
        requester=request.requester,
        description=request.description or f"request of {request.requester!r}",
        waited=max(0.0, engine.now() - waiter.since),
        lacking=lacking,
        behind=behind,
        reason=reason,
    )


def timeout_message(wait: WaitExplanation, timeout: float) -> str:
    """The TimeoutError's text: who gave up after how long, lacking what, behind whom, and why."""
    lacking = _amounts(wait.lacking) or "nothing it could be given yet"
    behind = f" behind {', '.join(repr(b) for b in wait.behind)}" if wait.behind else ""
    return (
        f"{wait.description} ({wait.requester!r}) waited {timeout:g} s for resources and gave up: it lacked"
        f" {lacking}{behind} ({wait.reason}). Raise its timeout, free the resources, or raise the capacity in"
        " [components.arbitration.options]."
    )
