"""The scheduler's decisions, without running anything: readiness, skips, merges, gates."""

from __future__ import annotations

from typing import Any

from symphony.builtin_plugins.pit.dag import Plan, Scheduler

from .conftest import flow

CHAIN = """
[inputs]
x = { type = "any" }
[nodes.a]
kind = "operator"
uses = "test-record"
[nodes.b]
kind = "operator"
uses = "test-record"
[nodes.c]
kind = "operator"
uses = "test-record"
[[edges]]
kind = "data"
from = "inputs.x"
to = "a.value"
[[edges]]
kind = "data"
from = "a.value"
to = "b.value"
[[edges]]
kind = "conditional"
from = "a"
to = "c"
when = "value == 1"
"""


def scheduler(text: str, inputs: dict[str, Any] | None = None) -> Scheduler:
    return Scheduler(Plan(flow(text)), inputs or {})


def test_nodes_without_incoming_edges_between_nodes_are_ready_at_the_start() -> None:
    s = scheduler(CHAIN, {"x": 5})
    assert s.start() == (["a"], [])
    assert s.inputs_of("a") == {"value": 5}


def test_a_data_edge_delivers_the_output_port_and_readies_its_target() -> None:
    s = scheduler(CHAIN)
    s.start()
    ready, skipped = s.finished("a", {"value": 1})
    assert sorted(ready) == ["b", "c"]
    assert skipped == []
    assert s.inputs_of("b") == {"value": 1}


def test_a_false_condition_skips_its_target_and_not_the_others() -> None:
    s = scheduler(CHAIN)
    s.start()
    ready, skipped = s.finished("a", {"value": 2})
    assert (ready, skipped) == (["b"], ["c"])


def test_skips_propagate_down_a_long_chain_without_recursion() -> None:
    body = "".join(f'[nodes.n{i}]\nkind = "operator"\nuses = "test-record"\n' for i in range(3000))
    body += "".join(f'[[edges]]\nkind = "control"\nfrom = "n{i}"\nto = "n{i + 1}"\n' for i in range(2999))
    s = scheduler(body)
    assert s.start() == (["n0"], [])
    ready, skipped = s.finished("n0", None)
    assert ready == [] and len(skipped) == 2999


def _merge(mode: str) -> str:
    return f"""
[nodes.a]
kind = "operator"
uses = "test-record"
[nodes.b]
kind = "operator"
uses = "test-record"
[nodes.m]
kind = "control"
control = "merge"
config = {{ mode = "{mode}" }}
[[edges]]
kind = "data"
from = "a.value"
to = "m.in"
[[edges]]
kind = "data"
from = "b.value"
to = "m.in"
"""


def test_merge_first_runs_on_the_first_value_without_waiting_for_the_rest() -> None:
    s = scheduler(_merge("first"))
    s.start()
    assert s.finished("b", {"value": "from b"}) == (["m"], [])
    assert s.inputs_of("m") == {"in": "from b"}
    assert s.finished("a", {"value": "from a"}) == ([], [])


def test_merge_all_waits_for_every_edge_and_lists_values_in_edge_order() -> None:
    s = scheduler(_merge("all"))
    s.start()
    assert s.finished("b", {"value": "B"}) == ([], [])
    assert s.finished("a", {"value": "A"}) == (["m"], [])
    assert s.inputs_of("m") == {"in": ["A", "B"]}


def test_merge_runs_when_any_input_arrived_and_leaves_out_the_skipped_ones() -> None:
    s = scheduler(_merge("all"))
    s.start()
    s.finished("a", None)
    assert s.finished("b", {"value": "B"}) == (["m"], [])
    assert s.inputs_of("m") == {"in": ["B"]}


def test_merge_is_skipped_when_every_input_was_skipped() -> None:
    s = scheduler(_merge("first"))
    s.start()
    assert s.finished("a", None) == ([], [])
    assert s.finished("b", None) == ([], ["m"])


def test_a_node_with_one_dead_edge_among_live_ones_is_skipped() -> None:
    s = scheduler(CHAIN.replace('to = "c"', 'to = "b"'))
    s.start()
    assert s.finished("a", {"value": 2}) == ([], ["b"])
