"""Properties: incremental validation agrees with a full one, and the graph stage agrees with networkx."""

from __future__ import annotations

import itertools
from typing import NamedTuple

import msgspec
import networkx as nx
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from symphony.builtin_plugins.workflow import EditError, EditSession, Limits, ValidatedWorkflow
from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import AddNode, Connect, Disconnect, Edit, ValidationReport, Workflow

from .helpers import CATALOGUE
from .strategies import Graph, applies, cyclic_graphs, dags, edits, graph_edge, graph_workflow, graphs, workflows

#: Generous time budget: a garbage-collection pause must not turn a full validation into a ``timeout``.
LIMITS = Limits(timeout=30.0)


def full(doc: Workflow) -> ValidationReport:
    return validate(doc, CATALOGUE, LIMITS).report(with_order=True)


def current(session: EditSession) -> ValidationReport:
    return session.validated.report(with_order=True)


def edge_keys(doc: Workflow) -> set[str]:
    return {edge.key for edge in doc.edges}


def same_document(left: Workflow, right: Workflow) -> bool:
    """Equal except for the order of edges, which undoing a Disconnect or RemoveNode does not restore."""
    return left.nodes == right.nodes and edge_keys(left) == edge_keys(right) and set(left.edges) == set(right.edges)


# -- incremental == full ------------------------------------------------------------------------
#
# Undo puts restored edges back at the end of the document (edge order has no meaning), so
# documents are compared with their edges as a set; reports are compared exactly.
#
# Avoided in ``strategies``: duplicate edge keys (a document with them cannot be edited:
# EditError, tested in test_edits) and a node with the reserved id "inputs".


class Step(NamedTuple):
    """An applied edit with the report and document before and after it."""

    edit: Edit
    before: tuple[ValidationReport, Workflow]
    after: tuple[ValidationReport, Workflow]


def check_edit_sequence(data: st.DataObject, doc: Workflow, steps: int) -> None:
    session = EditSession(doc, CATALOGUE, LIMITS)
    assert current(session) == full(session.workflow)
    history: list[Step] = []

    def agrees_with_full() -> None:
        expected = full(session.workflow)
        assert current(session) == expected
        assert session.validated.levels() == expected.levels

    def restored(state: tuple[ValidationReport, Workflow]) -> None:
        assert current(session) == state[0]
        assert same_document(session.workflow, state[1])

    for _ in range(steps):
        edit = data.draw(edits(session.workflow), label="edit")
        before = (current(session), session.workflow)
        if applies(before[1], edit):
            report = session.apply(edit)
            assert report == session.report()
            history.append(Step(edit, before, (current(session), session.workflow)))
        else:
            with pytest.raises(EditError):
                session.apply(edit)
            assert current(session) == before[0]
            assert session.workflow == before[1]
        agrees_with_full()
    # Undo back to the start, checking each state; then redo everything.
    undone: list[Step] = []
    for step in reversed(history):
        session.undo()
        agrees_with_full()
        restored(step.before)
        undone.append(step)
    event(f"{len(history)} edits undone and redone")
    for step in reversed(undone):
        session.redo()
        agrees_with_full()
        restored(step.after)
    assert not session.can_redo
    if undone:
        with pytest.raises(EditError):
            session.redo()


@settings(max_examples=150, deadline=None)
@given(st.data(), workflows(), st.integers(0, 25))
def test_after_every_edit_the_incremental_report_equals_a_full_validation(
    data: st.DataObject, doc: Workflow, steps: int
) -> None:
    check_edit_sequence(data, doc, steps)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None)
@given(st.data(), workflows(max_nodes=8, max_edges=16), st.integers(0, 40))
def test_after_every_edit_the_incremental_report_equals_a_full_validation_many_times(
    data: st.DataObject, doc: Workflow, steps: int
) -> None:
    check_edit_sequence(data, doc, steps)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.one_of(dags(), graphs(), cyclic_graphs()))
def test_connecting_and_disconnecting_a_graph_edge_by_edge_matches_a_full_validation(
    data: st.DataObject, graph: Graph
) -> None:
    names, pairs = graph
    session = EditSession(graph_workflow((names, ())), CATALOGUE, LIMITS)
    for source, target in data.draw(st.permutations(pairs), label="connect order"):
        session.apply(Connect(edge=graph_edge(source, target)))
        assert current(session) == full(session.workflow)
    # The same edges in another order give the same report.
    assert current(session) == full(graph_workflow(graph))
    for source, target in data.draw(st.permutations(pairs), label="disconnect order"):
        session.apply(Disconnect(edge=graph_edge(source, target).key))
        assert current(session) == full(session.workflow)


@settings(max_examples=300, deadline=None)
@given(workflows(max_nodes=8, max_edges=16))
def test_a_workflow_built_edit_by_edit_reports_what_its_full_validation_reports(doc: Workflow) -> None:
    """Edits check each node and edge on its own; a full validation passes the correct ones in bulk."""
    session = EditSession(msgspec.structs.replace(doc, nodes={}, edges=()), CATALOGUE, LIMITS)
    for node_id, node in doc.nodes.items():
        session.apply(AddNode(id=node_id, node=node))
    for edge in doc.edges:
        session.apply(Connect(edge=edge))
    assert current(session) == full(doc)


# -- agreement with networkx ---------------------------------------------------------------------


def digraph(graph: Graph) -> nx.DiGraph[str]:
    names, pairs = graph
    result: nx.DiGraph[str] = nx.DiGraph()
    result.add_nodes_from(names)
    result.add_edges_from(pairs)
    return result


def longest_path_levels(graph: nx.DiGraph[str]) -> tuple[tuple[str, ...], ...]:
    depth: dict[str, int] = {}
    for node in nx.topological_sort(graph):
        depth[node] = max((depth[parent] + 1 for parent in graph.predecessors(node)), default=0)
    grouped: dict[int, list[str]] = {}
    for node, level in depth.items():
        grouped.setdefault(level, []).append(node)
    return tuple(tuple(sorted(grouped[level])) for level in range(len(grouped)))


def nontrivial_components(graph: nx.DiGraph[str]) -> list[set[str]]:
    return [
        set(component)
        for component in nx.strongly_connected_components(graph)
        if len(component) > 1 or graph.has_edge(next(iter(component)), next(iter(component)))
    ]


def shortest_cycle_length(graph: nx.DiGraph[str], start: str, component: set[str]) -> int:
    inside = graph.subgraph(component)
    lengths = nx.single_source_shortest_path_length(inside, start)
    return min(lengths[parent] + 1 for parent in inside.predecessors(start))


def check_against_networkx(graph: Graph, result: ValidatedWorkflow) -> None:
    reference = digraph(graph)
    problems = result.report().problems
    cycles = [problem for problem in problems if problem.kind == "cycle"]
    unreachable = {problem.nodes[0] for problem in problems if problem.kind == "unreachable"}
    assert bool(cycles) == (not nx.is_directed_acyclic_graph(reference))
    if not cycles:
        order = result.order()
        assert sorted(order) == sorted(reference.nodes)
        position = {node: index for index, node in enumerate(order)}
        assert all(position[u] < position[v] for u, v in reference.edges)
        assert result.levels() == longest_path_levels(reference)
        assert unreachable == set()
        return
    assert result.levels() == () and result.order() == ()
    components = nontrivial_components(reference)
    assert len(cycles) == len(components)
    covered: list[set[str]] = []
    for cycle in cycles:
        path = [*cycle.nodes, cycle.nodes[0]]
        assert cycle.message.startswith(f"Cycle: {' -> '.join(path)}.")
        assert all(reference.has_edge(u, v) for u, v in itertools.pairwise(path))
        assert cycle.edges == tuple(graph_edge(u, v).key for u, v in itertools.pairwise(path))
        (component,) = [c for c in components if cycle.nodes[0] in c]
        assert set(cycle.nodes) <= component
        assert cycle.nodes[0] == min(component)
        assert len(cycle.nodes) == shortest_cycle_length(reference, cycle.nodes[0], component)
        covered.append(component)
    on_cycles = set().union(*components)
    assert set().union(*covered) == on_cycles
    assert len({min(c) for c in covered}) == len(components)  # one cycle per component
    behind = set().union(*(nx.descendants(reference, node) for node in on_cycles)) - on_cycles
    assert unreachable == behind


@settings(max_examples=300, deadline=None)
@given(dags())
def test_a_dag_is_levelled_by_longest_path_as_networkx_computes_it(graph: Graph) -> None:
    check_against_networkx(graph, validate(graph_workflow(graph), CATALOGUE, LIMITS))


@settings(max_examples=300, deadline=None)
@given(st.one_of(graphs(), cyclic_graphs()))
def test_cycles_and_unreachable_nodes_are_those_networkx_finds(graph: Graph) -> None:
    check_against_networkx(graph, validate(graph_workflow(graph), CATALOGUE, LIMITS))


@settings(max_examples=200, deadline=None)
@given(st.data(), st.one_of(dags(), graphs(), cyclic_graphs()))
def test_a_graph_built_edge_by_edge_agrees_with_networkx(data: st.DataObject, graph: Graph) -> None:
    names, pairs = graph
    session = EditSession(graph_workflow((names, ())), CATALOGUE, LIMITS)
    for source, target in data.draw(st.permutations(pairs), label="connect order"):
        session.apply(Connect(edge=graph_edge(source, target)))
    check_against_networkx(graph, session.validated)
