"""``symphony arbitration status``: the real command shows what the settings resolve to."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.conftest import Symphony

SLOTS = "components.arbitration.options.capacity.slots=3"
BUDGET = "components.arbitration.options.budgets.calls.limit=50"


def test_status_shows_the_configured_capacity_and_budgets(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("--set", SLOTS, "--set", BUDGET, "arbitration", "status")
    assert result.returncode == 0, result.stderr
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "slots 3 3" in lines and "models 256 256" in lines
    assert "budget:calls 50 per 60 s 50 (refills in 60.0 s)" in lines
    assert lines[-2:] == ["holders: 0", "waiting: 0"]


def test_status_json_has_capacity_budgets_holders_and_waiting(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("--set", SLOTS, "--set", BUDGET, "arbitration", "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["capacity"]["slots"] == 3 and status["free"]["budget:calls"] == 50
    assert status["budgets"]["budget:calls"]["limit"] == 50 and status["budgets"]["budget:calls"]["period"] == 60
    assert status["holders"] == [] and status["waiting"] == []


def test_a_bad_option_is_an_error_naming_the_key_without_a_traceback(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("--set", "components.arbitration.options.capacity.memory=lots", "arbitration", "status")
    assert result.returncode != 0
    assert "Invalid setting `components.arbitration.options`: capacity.memory: 'lots' is not an amount" in result.stderr
    assert "Traceback" not in result.stderr
