"""Model budgets: calls, tokens and cost per workflow run, enforced on every mediated model call.

A ModelAccess grant may carry a :class:`ModelBudget`; usage is counted per
extension, run and budget (a ``model:*`` budget is shared by every model it
covers; a ``model:gpt-4`` budget counts only that model).  The host mediates
a model call as::

    tracker.before_call(ext, run, model, tokens=estimate).raise_if_denied()
    ...call the model...
    tracker.after_call(ext, run, model, tokens=used, cost=cost)

``before_call`` checks the permission and that the call (and the estimate)
fits; ``after_call`` records the real usage, which has happened whatever it
says, and answers denied when the run is now over budget, so the next call is
refused.  ``charge`` does both when the usage is known up front.
"""

from __future__ import annotations

import shlex
import threading

import msgspec

from symphony.hookspecs import ModelBudget

from ._checker import PermissionChecker
from ._requests import Decision, ModelRequest

__all__ = ["ModelBudgetTracker", "Usage"]


class Usage(msgspec.Struct, kw_only=True):
    """What one extension used of one budget in one run."""

    calls: int = 0
    tokens: int = 0
    cost: float = 0.0


def _over(budget: ModelBudget, usage: Usage) -> str | None:
    """The first limit ``usage`` exceeds, as words, or None."""
    if budget.calls is not None and usage.calls > budget.calls:
        return f"{usage.calls} calls of {budget.calls} allowed"
    if budget.tokens is not None and usage.tokens > budget.tokens:
        return f"{usage.tokens} tokens of {budget.tokens} allowed"
    if budget.cost is not None and usage.cost > budget.cost + 1e-12:
        return f"a cost of {usage.cost:g} of {budget.cost:g} allowed"
    return None


class ModelBudgetTracker:
    """Counts model usage per (extension, run, budget) and denies calls beyond the budget."""

    def __init__(self, checker: PermissionChecker) -> None:
        self._checker = checker
        self._usage: dict[tuple[str, str, str], Usage] = {}
        self._lock = threading.Lock()

    def before_call(self, extension: str, run_id: str, model: str, *, tokens: int = 0, cost: float = 0.0) -> Decision:
        """Permission and budget check before a call; counts the call (and ``tokens``/``cost``) if allowed."""
        return self._charge(extension, run_id, model, calls=1, tokens=tokens, cost=cost, strict=True)

    def after_call(self, extension: str, run_id: str, model: str, *, tokens: int = 0, cost: float = 0.0) -> Decision:
        """Record the usage of a call that happened; denied (and recorded) if the run is now over budget."""
        return self._charge(extension, run_id, model, calls=0, tokens=tokens, cost=cost, strict=False)

    def charge(self, extension: str, run_id: str, model: str, *, tokens: int = 0, cost: float = 0.0) -> Decision:
        """One call with known usage: allowed and counted only if it fits."""
        return self.before_call(extension, run_id, model, tokens=tokens, cost=cost)

    def usage(self, extension: str, run_id: str, model: str) -> Usage:
        """The usage counted against the budget that applies to ``model``."""
        found = self._checker.model_budget(extension, model)
        key = (extension, run_id, found[0] if found else f"model:{model}")
        with self._lock:
            current = self._usage.get(key, Usage())
            return Usage(calls=current.calls, tokens=current.tokens, cost=current.cost)

    def end_run(self, run_id: str) -> None:
        """Forget the counters of a finished run."""
        with self._lock:
            self._usage = {k: v for k, v in self._usage.items() if k[1] != run_id}

    def _charge(
        self, extension: str, run_id: str, model: str, *, calls: int, tokens: int, cost: float, strict: bool
    ) -> Decision:
        checker = self._checker
        decision = checker.evaluate(extension, ModelRequest(model=model))
        if decision.allowed and checker.mode == "enforce":
            found = checker.model_budget(extension, model)
            if found is not None:
                decision = self._apply(decision, run_id, found, calls=calls, tokens=tokens, cost=cost, strict=strict)
        checker.record(decision, run_id=run_id)
        return decision

    def _apply(
        self,
        decision: Decision,
        run_id: str,
        found: tuple[str, ModelBudget],
        *,
        calls: int,
        tokens: int,
        cost: float,
        strict: bool,
    ) -> Decision:
        grant_text, budget = found
        extension = decision.extension
        with self._lock:
            usage = self._usage.setdefault((extension, run_id, grant_text), Usage())
            after = Usage(calls=usage.calls + calls, tokens=usage.tokens + tokens, cost=usage.cost + cost)
            exceeded = _over(budget, after)
            if exceeded is None or not strict:
                usage.calls, usage.tokens, usage.cost = after.calls, after.tokens, after.cost
        if exceeded is None:
            return decision
        limits = (("calls", budget.calls), ("tokens", budget.tokens), ("cost", budget.cost))
        command = shlex.join(["symphony", "ext", "grant", extension, grant_text])
        flags = " ".join(f"--{name} N" for name, limit in limits if limit is not None)
        when = "this call would use" if strict else "the run has used"
        return msgspec.structs.replace(
            decision,
            allowed=False,
            rule="budget",
            reason=(
                f"Denied {decision.permission} to extension {extension!r}: over its model budget for run {run_id!r} "
                f"({when} {exceeded} by the grant {grant_text}). Raise the budget with "
                f"`{command} {flags}`" + ("." if strict else "; further calls in this run are denied.")
            ),
        )
