"""Model budgets: calls, tokens and cost per run, enforced on every mediated call."""

from __future__ import annotations

from symphony.hookspecs import ModelAccess, ModelBudget
from symphony.host.permissions import ModelBudgetTracker, Permissions, Subject

from .conftest import Make

WRITER = Subject(name="writer", declared=(ModelAccess(models=("gpt-4", "claude")),))


def tracker(make: Make, budget: ModelBudget, model: str = "gpt-4") -> tuple[Permissions, ModelBudgetTracker]:
    permissions = make(WRITER)
    permissions.grants.grant("writer", [f"model:{model}"], budget=budget)
    return permissions, ModelBudgetTracker(permissions.checker())


def test_calls_beyond_the_budget_are_denied_with_the_command_to_raise_it(make: Make) -> None:
    _, budgets = tracker(make, ModelBudget(calls=2))
    assert budgets.before_call("writer", "run-1", "gpt-4").allowed
    assert budgets.before_call("writer", "run-1", "gpt-4").allowed
    denied = budgets.before_call("writer", "run-1", "gpt-4")
    assert not denied.allowed and denied.rule == "budget"
    assert "3 calls of 2 allowed" in denied.reason
    assert "`symphony ext grant writer model:gpt-4 --calls N`" in denied.reason


def test_a_denied_call_is_not_counted(make: Make) -> None:
    _, budgets = tracker(make, ModelBudget(calls=1))
    budgets.before_call("writer", "r", "gpt-4")
    budgets.before_call("writer", "r", "gpt-4")
    assert budgets.usage("writer", "r", "gpt-4").calls == 1


def test_an_estimate_that_does_not_fit_is_denied_before_the_call(make: Make) -> None:
    _, budgets = tracker(make, ModelBudget(tokens=100))
    assert budgets.before_call("writer", "r", "gpt-4", tokens=60).allowed
    denied = budgets.before_call("writer", "r", "gpt-4", tokens=60)
    assert not denied.allowed and "120 tokens of 100 allowed" in denied.reason


def test_usage_reported_after_a_call_exhausts_the_budget_for_the_rest_of_the_run(make: Make) -> None:
    _, budgets = tracker(make, ModelBudget(cost=1.0))
    assert budgets.before_call("writer", "r", "gpt-4").allowed
    after = budgets.after_call("writer", "r", "gpt-4", tokens=900, cost=1.5)
    assert not after.allowed and "further calls in this run are denied" in after.reason
    assert budgets.usage("writer", "r", "gpt-4").cost == 1.5
    assert not budgets.before_call("writer", "r", "gpt-4").allowed


def test_budgets_are_per_run(make: Make) -> None:
    _, budgets = tracker(make, ModelBudget(calls=1))
    assert budgets.charge("writer", "run-1", "gpt-4").allowed
    assert not budgets.charge("writer", "run-1", "gpt-4").allowed
    assert budgets.charge("writer", "run-2", "gpt-4").allowed


def test_ending_a_run_forgets_its_counters(make: Make) -> None:
    _, budgets = tracker(make, ModelBudget(calls=1))
    budgets.charge("writer", "r", "gpt-4")
    budgets.end_run("r")
    assert budgets.usage("writer", "r", "gpt-4").calls == 0


def test_a_wildcard_budget_is_shared_by_every_model_it_covers(make: Make) -> None:
    _, budgets = tracker(make, ModelBudget(calls=1), model="*")
    assert budgets.charge("writer", "r", "gpt-4").allowed
    assert not budgets.charge("writer", "r", "claude").allowed


def test_a_model_without_a_budget_is_unlimited_but_still_needs_a_grant(make: Make) -> None:
    permissions, budgets = tracker(make, ModelBudget(calls=1))
    permissions.grants.grant("writer", ["model:claude"])
    assert all(budgets.charge("writer", "r", "claude").allowed for _ in range(5))
    permissions.grants.revoke("writer", ["model:claude"])
    assert budgets.charge("writer", "r", "claude").rule == "not_granted"


def test_budget_denials_are_audited_with_the_run(make: Make) -> None:
    permissions, budgets = tracker(make, ModelBudget(calls=0))
    budgets.charge("writer", "run-9", "gpt-4")
    [entry] = permissions.audit.entries(decision="denied")
    assert (entry.rule, entry.run_id, entry.permission) == ("budget", "run-9", "model:gpt-4")
