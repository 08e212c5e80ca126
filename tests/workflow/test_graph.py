"""The graph algorithms under the validator, on plain successor maps."""

from __future__ import annotations

from symphony.builtin_plugins.workflow.graph import (
    kahn_levels,
    raise_levels,
    reaches,
    shortest_cycle,
    strongly_connected,
)

DIAMOND = {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}
INDEGREE = {"a": 0, "b": 1, "c": 1, "d": 2}


def test_kahn_levels_put_each_node_one_below_its_deepest_predecessor() -> None:
    assert kahn_levels(DIAMOND, INDEGREE) == {"a": 0, "b": 1, "c": 1, "d": 2}


def test_kahn_levels_leave_out_nodes_on_or_after_a_cycle() -> None:
    succ = {"a": ["b"], "b": ["c"], "c": ["b", "d"], "d": []}
    assert kahn_levels(succ, {"a": 0, "b": 2, "c": 1, "d": 1}) == {"a": 0}


def test_kahn_levels_count_parallel_edges_once_per_edge() -> None:
    assert kahn_levels({"a": ["b", "b"], "b": []}, {"a": 0, "b": 2}) == {"a": 0, "b": 1}


def test_reaches_follows_edges_forward_only() -> None:
    level = kahn_levels(DIAMOND, INDEGREE)
    assert reaches(level, DIAMOND, "a", "d")
    assert not reaches(level, DIAMOND, "d", "a")
    assert not reaches(level, DIAMOND, "b", "c")


def test_raise_levels_pushes_a_node_and_its_followers_down() -> None:
    succ = {"a": ["b"], "b": ["c"], "c": [], "x": []}
    level = {"a": 0, "b": 1, "c": 2, "x": 0}
    succ["x"].append("a")  # a new edge x -> a
    raise_levels(level, succ, "a", level["x"] + 1)
    assert level == {"x": 0, "a": 1, "b": 2, "c": 3}


def test_strongly_connected_finds_each_cycle_and_each_lone_node() -> None:
    succ = {"a": ["b"], "b": ["a", "c"], "c": ["d"], "d": ["c"], "e": []}
    components = strongly_connected(set(succ), succ)
    assert sorted(sorted(c) for c in components) == [["a", "b"], ["c", "d"], ["e"]]


def test_shortest_cycle_returns_to_its_start_by_the_fewest_edges() -> None:
    succ = {"a": ["c", "b"], "b": ["a"], "c": ["d"], "d": ["a"]}
    assert shortest_cycle("a", set(succ), succ) == ["a", "b", "a"]


def test_shortest_cycle_of_a_self_loop_is_the_node_twice() -> None:
    assert shortest_cycle("a", {"a"}, {"a": ["a"]}) == ["a", "a"]
