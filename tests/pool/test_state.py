"""The lifecycle table: every move it lists is allowed and published, any other raises."""

from __future__ import annotations

import pytest

from symphony.builtin_plugins.pit.pool.state import TRANSITIONS, IllegalTransitionError, Lifecycle
from symphony.hookspecs import Event


def test_the_full_cycle_moves_through_every_state_and_emits_each_move() -> None:
    events: list[Event] = []
    lifecycle = Lifecycle("m", events.append)
    for state in ("warming", "hot", "cooling", "cold"):
        lifecycle.move(state, "because")
    assert [(e.topic, e.data["from"]) for e in events] == [
        ("pool.model.warming", "cold"),
        ("pool.model.hot", "warming"),
        ("pool.model.cooling", "hot"),
        ("pool.model.cold", "cooling"),
    ]


def test_warming_may_fail_back_to_cold_with_the_cause_in_the_event() -> None:
    events: list[Event] = []
    lifecycle = Lifecycle("m", events.append)
    lifecycle.move("warming", "allocated")
    lifecycle.move("cold", "warm-up failed", error="loader raised")
    assert events[-1].data == {"model": "m", "from": "warming", "reason": "warm-up failed", "error": "loader raised"}


@pytest.mark.parametrize(
    ("start", "to"),
    [(a, b) for a in TRANSITIONS for b in TRANSITIONS if b not in TRANSITIONS[a]],
)
def test_a_move_the_table_lacks_raises_and_leaves_the_state(start: str, to: str) -> None:
    events: list[Event] = []
    lifecycle = Lifecycle("m", events.append)
    lifecycle.state = start  # type: ignore[assignment]
    with pytest.raises(IllegalTransitionError, match=f"from {start} to {to}"):
        lifecycle.move(to, "test")  # type: ignore[arg-type]
    assert lifecycle.state == start
    assert events == []
