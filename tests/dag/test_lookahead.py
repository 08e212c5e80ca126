"""The lookahead: node levels of a plan, and which models become due as a run's frontier moves."""

from __future__ import annotations

import itertools

from symphony.builtin_plugins.pit.dag.lookahead import Lookahead, levels
from symphony.builtin_plugins.pit.dag.scheduler import Plan

from .conftest import flow


def ops(*names: str) -> str:
    return "".join(f'[nodes.{n}]\nkind = "operator"\nuses = "test-record"\n' for n in names)


def edges(*pairs: str, kind: str = "data") -> str:
    text = ""
    for pair in pairs:
        source, target = pair.split("->")
        text += f'[[edges]]\nkind = "{kind}"\nfrom = "{source}"\nto = "{target}"\n'
    return text


def plan(nodes: str, links: str = "") -> Plan:
    return Plan(flow(nodes + links))


def test_a_chains_levels_count_the_nodes_before_each() -> None:
    assert levels(plan(ops("a", "b", "c"), edges("a->b", "b->c"))) == {"a": 0, "b": 1, "c": 2}


def test_a_node_is_one_level_past_its_longest_chain_of_predecessors() -> None:
    found = levels(plan(ops("a", "b", "c", "d"), edges("a->b", "b->c", "a->d", "c->d")))

    assert found == {"a": 0, "b": 1, "c": 2, "d": 3}


def test_control_edges_count_like_data_edges_and_workflow_inputs_do_not() -> None:
    text = '[inputs.x]\ntype = "string"\n' + ops("a", "b") + edges("inputs.x->a.value") + edges("a->b", kind="control")

    assert levels(plan(text)) == {"a": 0, "b": 1}


def test_independent_nodes_are_all_level_zero() -> None:
    assert levels(plan(ops("a", "b", "c"))) == {"a": 0, "b": 0, "c": 0}


def chain(length: int) -> Plan:
    names = [f"n{i}" for i in range(length)]
    return plan(ops(*names), edges(*(f"{a}->{b}" for a, b in itertools.pairwise(names))))


def never(_: str) -> bool:
    return False


def test_at_the_start_the_models_of_the_first_depth_levels_past_the_frontier_are_due() -> None:
    lookahead = Lookahead(chain(5), {"n1": ("m1",), "n2": ("m2",), "n3": ("m3",)}, depth=2)

    assert lookahead.due(never) == [("m1", "n1"), ("m2", "n2")]


def test_finishing_a_level_moves_the_frontier_and_makes_the_next_models_due() -> None:
    lookahead = Lookahead(chain(5), {"n1": ("m1",), "n3": ("m3",), "n4": ("m4",)}, depth=2)
    lookahead.due(never)

    lookahead.finished("n0")
    after_one = lookahead.due(never)
    lookahead.finished("n1")
    after_two = lookahead.due(never)

    assert (after_one, after_two) == ([("m3", "n3")], [("m4", "n4")])


def test_the_frontier_waits_for_every_node_of_its_level() -> None:
    lookahead = Lookahead(plan(ops("a", "b", "c", "d"), edges("a->c", "b->c", "c->d")), {"d": ("m",)}, depth=1)

    lookahead.finished("a")
    before = lookahead.due(never)
    lookahead.finished("b")
    after = lookahead.due(never)

    assert (before, after) == ([], [("m", "d")])


def test_a_model_is_due_once_per_run_however_many_nodes_use_it() -> None:
    lookahead = Lookahead(chain(3), {"n1": ("m", "k"), "n2": ("m",)}, depth=2)

    assert lookahead.due(never) == [("m", "n1"), ("k", "n1")]
    lookahead.finished("n0")
    assert lookahead.due(never) == []


def test_a_node_that_already_started_is_not_prewarmed_for() -> None:
    lookahead = Lookahead(chain(3), {"n0": ("m0",), "n1": ("m1",)}, depth=1)

    assert lookahead.due(lambda node_id: node_id == "n0") == [("m1", "n1")]
