"""symphony_data_rules: a plugin's business rules are collected by name, their checks intact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from symphony.hookspecs import DataRule, ValidationError, hookimpl
from symphony.hookspecs.ports import HostContext

from .conftest import MakeHost


def _no_drafts(action: str, record: Mapping[str, Any], before: Mapping[str, Any] | None) -> None:
    if str(record.get("name", "")).startswith("draft-"):
        raise ValidationError(f"Cannot {action} workflow {record['name']!r}: drafts stay local; rename it.")


class NoDrafts:
    @hookimpl
    def symphony_data_rules(self, context: HostContext) -> list[DataRule]:
        return [DataRule(name="no-drafts", resource="workflow", check=_no_drafts)]


def test_symphony_data_rules_of_a_plugin_are_collected_by_name_with_their_check(make_host: MakeHost) -> None:
    plugin, rule = make_host(NoDrafts()).load().contributions("symphony_data_rules")["no-drafts"]
    assert (plugin, rule.resource) == ("NoDrafts", "workflow")
    rule.check("create", {"name": "nightly"}, None)
    with pytest.raises(ValidationError, match="drafts stay local"):
        rule.check("create", {"name": "draft-1"}, None)
