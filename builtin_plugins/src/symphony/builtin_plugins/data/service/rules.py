"""Business rules: pluggable ``DataRule``s run inside each write's transaction (plus the schema's uniqueness)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from symphony.hookspecs import DataRule, ValidationError, Workflow

from .problems import Problem


def _workflow_spec(action: str, record: Mapping[str, Any], before: Mapping[str, Any] | None) -> None:
    """A stored spec must be a Workflow document, or nothing could run it."""
    if action == "delete":
        return
    try:
        msgspec.convert(record["spec"], Workflow)
    except msgspec.ValidationError as error:
        raise ValidationError(f"The workflow spec is not a valid workflow document: {error}; fix that field.") from None


def builtin_rules() -> list[DataRule]:
    """The rules every service enforces; name and email uniqueness are the schema's (race-free) constraints."""
    return [DataRule(name="workflow-spec", resource="workflow", check=_workflow_spec)]


class Rules:
    """The rules by resource, checked in the order given."""

    def __init__(self, rules: Iterable[DataRule]) -> None:
        self._by_resource: dict[str, list[DataRule]] = {}
        for rule in rules:
            self._by_resource.setdefault(rule.resource, []).append(rule)

    def check(self, resource: str, action: str, record: Mapping[str, Any], before: Mapping[str, Any] | None) -> None:
        """Run every rule of ``resource``; the first refusal becomes a 422 problem naming the rule."""
        for rule in self._by_resource.get(resource, ()):
            try:
                rule.check(action, record, before)
            except ValidationError as error:
                raise Problem(422, "data.validation", f"{error.message} (rule {rule.name!r})") from None
