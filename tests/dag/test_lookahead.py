"""The lookahead: node levels of a plan, and which models become due as a run's frontier moves."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

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


@st.composite
def dags(draw: st.DrawFn) -> tuple[Plan, dict[str, tuple[str, ...]]]:
    """A random DAG (edges only from lower to higher index) and models for some of its nodes."""
    size = draw(st.integers(1, 12))
    names = [f"n{i}" for i in range(size)]
    pairs = [f"{a}->{b}" for i, a in enumerate(names) for b in names[i + 1 :] if draw(st.booleans())]
    models = {n: tuple(draw(st.lists(st.sampled_from(["m0", "m1", "m2", "m3"]), max_size=2))) for n in names}
    return plan(ops(*names), edges(*pairs)), models


@given(dags(), st.integers(0, 3), st.randoms())
@settings(max_examples=100, deadline=None)
def test_in_any_finishing_order_a_model_is_due_once_and_only_within_the_horizon(
    dag: tuple[Plan, dict[str, tuple[str, ...]]], depth: int, rng: random.Random
) -> None:
    the_plan, models = dag
    lookahead = Lookahead(the_plan, models, depth)
    level = levels(the_plan)
    unfinished = set(the_plan.nodes)
    predecessors = {
        n: {s for s, p in the_plan.nodes.items() for out in p.outgoing if out.target == n} for n in unfinished
    }
    due: list[tuple[str, str]] = []
    while True:
        frontier = min(level[n] for n in unfinished) if unfinished else max(level.values())
        now = lookahead.due(never)
        assert all(level[node] <= frontier + depth for _, node in now)
        due += now
        if not unfinished:
            break
        # finish any node whose predecessors all finished (the scheduler's order, shuffled)
        ready = [n for n in unfinished if not any(p in unfinished for p in predecessors[n])]
        finished = rng.choice(sorted(ready))
        unfinished.remove(finished)
        lookahead.finished(finished)

    warmed = [model for model, _ in due]
    assert len(warmed) == len(set(warmed))
    assert set(warmed) == {model for used in models.values() for model in used}
