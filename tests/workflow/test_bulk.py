"""The full validation's bulk passes: ends split as ``str.partition`` does, levels as Kahn's (lists or arrays)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from symphony.builtin_plugins.workflow.array_levels import GENERATIONS, ArrayGraph, array_levels
from symphony.builtin_plugins.workflow.bulk import PairGraph, kahn_levels_of, split_ends
from symphony.builtin_plugins.workflow.graph import kahn_levels

_END = st.text(alphabet="ab.\x00", max_size=5)


@given(st.lists(_END, max_size=6))
def test_split_ends_splits_each_end_at_its_first_dot(ends: list[str]) -> None:
    split = [end.partition(".") for end in ends]
    assert split_ends(ends) == (
        [node for node, _, _ in split],
        [port for _, _, port in split],
        all("." in end for end in ends),
    )


def test_split_ends_of_one_dot_each_gives_nodes_and_ports() -> None:
    assert split_ends(["a.out", "b.in", "c."]) == (["a", "b", "c"], ["out", "in", ""], True)


def test_split_ends_without_dots_gives_the_ends_as_nodes() -> None:
    assert split_ends(["a", "b"]) == (["a", "b"], ["", ""], False)


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=12))
def test_kahn_levels_of_index_pairs_are_kahn_levels_or_none_on_a_cycle(pairs: list[tuple[int, int]]) -> None:
    names = ["a", "b", "c", "d", "e", "f"]
    succ: dict[str, list[str]] = {name: [] for name in names}
    indegree = dict.fromkeys(names, 0)
    for source, target in pairs:
        succ[names[source]].append(names[target])
        indegree[names[target]] += 1
    expected = kahn_levels(succ, indegree)
    assert kahn_levels_of(names, pairs) == (expected if len(expected) == len(names) else None)


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=12))
def test_array_levels_are_the_levels_of_the_pair_graph(pairs: list[tuple[int, int]]) -> None:
    names = ["a", "b", "c", "d", "e", "f"]
    sources, targets = (np.array([pair[side] for pair in pairs], np.int64) for side in (0, 1))
    assert ArrayGraph(sources, targets).levels(names) == PairGraph(pairs).levels(names)


@pytest.mark.parametrize("length", [GENERATIONS - 1, GENERATIONS, GENERATIONS + 1, 3 * GENERATIONS])
def test_array_levels_of_a_chain_longer_than_the_generation_bound_are_still_its_levels(length: int) -> None:
    names = [f"n{index}" for index in range(length)]
    chain = np.arange(length - 1, dtype=np.int64)
    assert array_levels(names, chain, chain + 1) == {name: index for index, name in enumerate(names)}
