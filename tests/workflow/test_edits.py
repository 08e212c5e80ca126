"""Editing as a visual editor does it: each edit changes the report exactly as it should, and undo puts it back."""

from __future__ import annotations

import msgspec
import pytest

from symphony.builtin_plugins.workflow import EditError, EditSession
from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import (
    AddNode,
    ConditionalEdge,
    Connect,
    ControlEdge,
    ControlNode,
    DataEdge,
    Disconnect,
    Edit,
    InstrumentNode,
    NodeMetadata,
    OperatorNode,
    PortSpec,
    RemoveNode,
    UpdateNode,
    ValidationReport,
    Workflow,
)

from .helpers import CATALOGUE, workflow

Problem = tuple[str, tuple[str, ...], tuple[str, ...]]


def op(uses: str) -> OperatorNode:
    return OperatorNode(uses=uses)


def data(source: str, target: str, edge_id: str = "") -> DataEdge:
    return DataEdge(source=source, target=target, id=edge_id)


def summary(report: ValidationReport) -> set[Problem]:
    return {(problem.kind, problem.nodes, problem.edges) for problem in report.problems}


def changes(session: EditSession, edit: Edit) -> tuple[set[Problem], set[Problem]]:
    """The problems an edit adds and removes; also checks the new report against a full validation."""
    before = session.report()
    after = session.apply(edit)
    assert after == validate(session.workflow, CATALOGUE).report()
    return summary(after) - summary(before), summary(before) - summary(after)


def edge_keys(doc: Workflow) -> list[str]:
    return [edge.key for edge in doc.edges]


#: A correct chain a -> b -> c of ``pair`` operators, their right inputs fed by the workflow's input.
CHAIN = workflow(
    {"a": op("pair"), "b": op("pair"), "c": op("pair")},
    [
        data("inputs.x", "a.left"),
        data("inputs.x", "a.right"),
        data("a.out", "b.left", "ab"),
        data("inputs.x", "b.right"),
        data("b.out", "c.left", "bc"),
        data("inputs.x", "c.right"),
    ],
    inputs={"x": PortSpec(type="any")},
    outputs={"result": "c.out"},
)


def chain() -> EditSession:
    session = EditSession(CHAIN, CATALOGUE)
    assert session.report().problems == ()
    return session


# -- each edit changes the report exactly ---------------------------------------------------------


def test_connecting_a_required_input_removes_its_missing_input_problem() -> None:
    session = EditSession(workflow({"read": op("read"), "parse": op("parse")}, outputs={"v": "parse.value"}), CATALOGUE)
    added, removed = changes(session, Connect(edge=data("read.text", "parse.text", "e")))
    assert added == set()
    assert removed == {("missing_input", ("parse",), ()), ("dead_end", ("read",), ())}
    assert session.validated.levels() == (("read",), ("parse",))


def test_connecting_incompatible_ports_reports_a_type_mismatch_on_that_edge() -> None:
    session = EditSession(workflow({"read": op("read"), "parse": op("parse")}, outputs={"v": "parse.value"}), CATALOGUE)
    added, removed = changes(session, Connect(edge=data("read.size", "parse.text", "e")))
    assert added == {("type_mismatch", ("read", "parse"), ("e",))}
    assert removed == {("missing_input", ("parse",), ()), ("dead_end", ("read",), ())}


def test_connecting_a_second_edge_into_an_input_reports_conflicting_inputs() -> None:
    session = chain()
    added, removed = changes(session, Connect(edge=data("a.out", "c.left", "ac")))
    assert added == {("conflicting_inputs", ("c",), ("ac", "bc"))}  # edges listed by key
    assert removed == set()


def test_connecting_a_back_edge_reports_the_cycle_with_its_path() -> None:
    session = chain()
    added, removed = changes(session, Connect(edge=ControlEdge(source="c", target="a", id="back")))
    assert added == {("cycle", ("a", "b", "c"), ("ab", "bc", "back"))}
    assert removed == set()
    (cycle,) = session.report().problems
    assert cycle.message.startswith("Cycle: a -> b -> c -> a.")
    assert session.validated.levels() == () and session.validated.order() == ()


def test_disconnecting_the_back_edge_removes_the_cycle_and_the_levels_come_back() -> None:
    session = chain()
    session.apply(Connect(edge=ControlEdge(source="c", target="a", id="back")))
    added, removed = changes(session, Disconnect(edge="back"))
    assert added == set()
    assert removed == {("cycle", ("a", "b", "c"), ("ab", "bc", "back"))}
    assert session.validated.levels() == (("a",), ("b",), ("c",))


def test_nodes_after_a_new_cycle_become_unreachable() -> None:
    session = chain()
    added, _ = changes(session, Connect(edge=ControlEdge(source="b", target="a", id="back")))
    assert added == {("cycle", ("a", "b"), ("ab", "back")), ("unreachable", ("c",), ())}


def test_a_self_loop_is_a_cycle_of_one_node() -> None:
    session = chain()
    added, _ = changes(session, Connect(edge=ControlEdge(source="b", target="b", id="loop")))
    assert added == {("cycle", ("b",), ("loop",)), ("unreachable", ("c",), ())}


def test_removing_a_node_removes_its_edges_and_the_problems_that_involved_them() -> None:
    doc = workflow(
        {"read": op("read"), "parse": op("parse"), "sink": op("keep")},
        [
            data("read.size", "parse.text", "bad"),
            data("parse.value", "sink.value", "ok"),
            data("parse.value", "g.x", "g"),
        ],
        outputs={"size": "read.size"},
    )
    session = EditSession(doc, CATALOGUE)
    added, removed = changes(session, RemoveNode(id="parse"))
    assert removed == {
        ("type_mismatch", ("read", "parse"), ("bad",)),
        ("dangling_edge", ("parse", "g"), ("g",)),
    }
    assert added == {("missing_input", ("sink",), ())}
    assert "parse" not in session.workflow.nodes and session.workflow.edges == ()


def test_removing_a_node_on_a_cycle_breaks_it() -> None:
    session = chain()
    session.apply(Connect(edge=ControlEdge(source="c", target="a", id="back")))
    added, removed = changes(session, RemoveNode(id="b"))
    assert removed == {("cycle", ("a", "b", "c"), ("ab", "bc", "back"))}
    assert added == {("missing_input", ("c",), ()), ("dead_end", ("a",), ())}
    assert session.validated.levels() == (("c",), ("a",))


def test_removing_a_node_named_in_outputs_reports_the_output() -> None:
    session = chain()
    added, _ = changes(session, RemoveNode(id="c"))
    assert added == {("unknown_port", ("c",), ()), ("dead_end", ("b",), ())}


def test_updating_a_node_to_an_unknown_operator_reports_it_and_rechecks_its_edges() -> None:
    doc = workflow(
        {"read": op("read"), "parse": op("parse")}, [data("read.size", "parse.text", "e")], outputs={"v": "parse.value"}
    )
    session = EditSession(doc, CATALOGUE)
    added, removed = changes(session, UpdateNode(id="parse", node=op("translate")))
    assert added == {("unknown_contribution", ("parse",), ())}
    assert removed == {("type_mismatch", ("read", "parse"), ("e",))}  # an unknown operator's ports are unknown
    (problem,) = session.report().problems
    assert "Install it with `pip install symphony-translate`" in problem.message


def test_updating_a_node_to_one_without_the_connected_ports_reports_them() -> None:
    doc = workflow(
        {"read": op("read"), "parse": op("parse")}, [data("read.text", "parse.text", "e")], outputs={"v": "parse.value"}
    )
    session = EditSession(doc, CATALOGUE)
    added, removed = changes(session, UpdateNode(id="parse", node=op("count")))
    assert added == {
        ("unknown_port", ("read", "parse"), ("e",)),  # count has no input text
        ("unknown_port", ("parse",), ()),  # nor an output value, which [outputs] names
        ("missing_input", ("parse",), ()),  # and its own input value is not connected
    }
    assert removed == set()


def test_updating_a_node_to_one_with_the_connected_ports_clears_their_problems() -> None:
    doc = workflow({"read": op("read"), "p": op("count")}, [data("read.text", "p.text", "e")], outputs={"v": "p.value"})
    session = EditSession(doc, CATALOGUE)
    added, removed = changes(session, UpdateNode(id="p", node=op("parse")))
    assert added == set()
    assert removed == {
        ("unknown_port", ("read", "p"), ("e",)),
        ("unknown_port", ("p",), ()),
        ("missing_input", ("p",), ()),
    }


def test_updating_a_node_to_a_merge_resolves_its_conflicting_inputs() -> None:
    doc = workflow(
        {"a": op("read"), "b": op("read"), "m": ControlNode(control="branch")},
        [data("a.text", "m.in", "one"), data("b.text", "m.in", "two")],
        outputs={"out": "m.out"},
    )
    session = EditSession(doc, CATALOGUE)
    added, removed = changes(session, UpdateNode(id="m", node=ControlNode(control="merge")))
    assert added == set()
    assert removed == {("conflicting_inputs", ("m",), ("one", "two"))}


def test_updating_a_conditional_edges_source_rechecks_its_condition() -> None:
    doc = workflow(
        {"up": op("read"), "down": op("read")},
        [ConditionalEdge(source="up", target="down", when="score >= 0.5", id="if")],
        outputs={"a": "up.text", "b": "down.text"},
    )
    session = EditSession(doc, CATALOGUE)
    assert summary(session.report()) == {("bad_condition", ("up", "down"), ("if",))}
    added, removed = changes(session, UpdateNode(id="up", node=InstrumentNode(uses="chat")))
    assert removed == {("bad_condition", ("up", "down"), ("if",))}
    assert added == {("missing_input", ("up",), ())}


def test_adding_the_node_a_dangling_edge_pointed_at_resolves_the_dangling_problem() -> None:
    session = EditSession(workflow({"read": op("read")}, [data("read.text", "sink.text", "e")]), CATALOGUE)
    assert summary(session.report()) == {("dangling_edge", ("read", "sink"), ("e",))}
    added, removed = changes(session, AddNode(id="sink", node=op("sink")))
    assert added == set()
    assert removed == {("dangling_edge", ("read", "sink"), ("e",))}
    assert session.validated.levels() == (("read",), ("sink",))


def test_adding_a_node_whose_dangling_edges_form_a_cycle_reports_the_cycle() -> None:
    doc = workflow({"a": op("pair")}, [data("a.out", "b.left", "ab"), data("b.out", "a.left", "ba")])
    session = EditSession(doc, CATALOGUE)
    added, removed = changes(session, AddNode(id="b", node=op("pair")))
    assert ("cycle", ("a", "b"), ("ab", "ba")) in added
    assert removed == {("dangling_edge", ("a", "b"), ("ab",)), ("dangling_edge", ("b", "a"), ("ba",))}
    assert session.validated.levels() == ()


def test_adding_a_node_with_a_reserved_id_reports_an_invalid_id() -> None:
    session = chain()
    added, _ = changes(session, AddNode(id="inputs", node=op("read")))
    assert ("invalid_id", ("inputs",), ()) in added


# -- edits that cannot apply change nothing ------------------------------------------------------


def assert_refused(session: EditSession, edit: Edit, message: str) -> None:
    report, doc = session.report(), session.workflow
    with pytest.raises(EditError) as caught:
        session.apply(edit)
    assert str(caught.value) == message
    assert session.report() == report
    assert session.workflow == doc and edge_keys(session.workflow) == edge_keys(doc)
    assert not session.can_undo


def test_connecting_an_existing_edge_key_is_refused() -> None:
    assert_refused(
        chain(),
        Connect(edge=data("inputs.x", "a.left")),
        "Edge 'data:inputs.x->a.left' already exists; disconnect it first or give the new edge its own id.",
    )


def test_connecting_a_different_edge_under_an_existing_id_is_refused() -> None:
    assert_refused(
        chain(),
        Connect(edge=ControlEdge(source="c", target="a", id="ab")),
        "Edge 'ab' already exists; disconnect it first or give the new edge its own id.",
    )


def test_disconnecting_an_unknown_edge_is_refused() -> None:
    assert_refused(
        chain(), Disconnect(edge="data:a.out->c.left"), "There is no edge 'data:a.out->c.left' to disconnect."
    )


def test_adding_an_existing_node_id_is_refused() -> None:
    assert_refused(
        chain(), AddNode(id="b", node=op("read")), "Node 'b' already exists; update it or choose another id."
    )


def test_removing_an_unknown_node_is_refused() -> None:
    assert_refused(chain(), RemoveNode(id="ghost"), "There is no node 'ghost' to remove.")


def test_updating_an_unknown_node_is_refused() -> None:
    assert_refused(
        chain(), UpdateNode(id="ghost", node=op("read")), "There is no node 'ghost' to update; add it first."
    )


def test_a_refused_edit_keeps_the_undo_and_redo_history() -> None:
    session = chain()
    session.apply(Disconnect(edge="ab"))
    session.apply(Disconnect(edge="bc"))
    session.undo()
    with pytest.raises(EditError):
        session.apply(RemoveNode(id="ghost"))
    assert session.can_undo and session.can_redo
    session.redo()
    assert "bc" not in edge_keys(session.workflow)


# -- undo and redo ----------------------------------------------------------------------------------

EDITS_ON_CHAIN: dict[str, Edit] = {
    "connect": Connect(edge=ControlEdge(source="c", target="a", id="back")),
    "disconnect": Disconnect(edge="ab"),
    "add": AddNode(id="d", node=op("parse")),
    "remove": RemoveNode(id="b"),
    "update": UpdateNode(id="b", node=op("count")),
}


@pytest.mark.parametrize("edit", EDITS_ON_CHAIN.values(), ids=EDITS_ON_CHAIN.keys())
def test_undo_restores_the_exact_previous_report(edit: Edit) -> None:
    session = chain()
    before = session.validated.report(with_order=True)
    assert session.apply(edit) != before
    assert session.undo() == ValidationReport()
    assert session.validated.report(with_order=True) == before


@pytest.mark.parametrize("edit", EDITS_ON_CHAIN.values(), ids=EDITS_ON_CHAIN.keys())
def test_undo_restores_the_previous_nodes_and_edges(edit: Edit) -> None:
    session = chain()
    session.apply(edit)
    session.undo()
    doc = session.workflow
    assert doc.nodes == CHAIN.nodes
    assert sorted(edge_keys(doc)) == sorted(edge_keys(CHAIN)) and set(doc.edges) == set(CHAIN.edges)
    assert msgspec.structs.replace(doc, edges=CHAIN.edges) == CHAIN


@pytest.mark.parametrize("name", ["connect", "add", "update"])
def test_undo_of_an_edit_that_removes_no_edge_restores_the_document_exactly(name: str) -> None:
    session = chain()
    session.apply(EDITS_ON_CHAIN[name])
    session.undo()
    assert session.workflow == CHAIN


def test_undoing_a_removal_brings_back_the_node_its_edges_and_its_problems() -> None:
    doc = workflow(
        {"read": op("read"), "parse": op("parse")}, [data("read.size", "parse.text", "e")], outputs={"v": "parse.value"}
    )
    session = EditSession(doc, CATALOGUE)
    before = session.report()
    session.apply(RemoveNode(id="parse"))
    assert session.undo() == before
    assert session.workflow == doc


def test_redo_reapplies_the_undone_edit() -> None:
    session = chain()
    after = session.apply(EDITS_ON_CHAIN["remove"])
    doc = session.workflow
    session.undo()
    assert session.redo() == after
    assert session.workflow == doc
    assert session.can_undo and not session.can_redo


def test_undo_and_redo_walk_a_sequence_of_edits_back_and_forth() -> None:
    session = chain()
    reports = [session.report()]
    for edit in (
        Connect(edge=ControlEdge(source="c", target="a", id="back")),
        AddNode(id="d", node=op("sink")),
        Connect(edge=data("c.out", "d.text", "cd")),
        UpdateNode(id="d", node=op("parse")),
        Disconnect(edge="back"),
    ):
        reports.append(session.apply(edit))
    for expected in reversed(reports[:-1]):
        assert session.undo() == expected
    assert not session.can_undo
    for expected in reports[1:]:
        assert session.redo() == expected
    assert not session.can_redo


def test_a_new_edit_clears_the_redo_history() -> None:
    session = chain()
    session.apply(Disconnect(edge="ab"))
    session.undo()
    session.apply(Disconnect(edge="bc"))
    assert not session.can_redo
    with pytest.raises(EditError, match="Nothing to redo"):
        session.redo()


def test_undo_with_no_history_raises_edit_error_and_changes_nothing() -> None:
    session = chain()
    with pytest.raises(EditError) as caught:
        session.undo()
    assert str(caught.value) == "Nothing to undo."
    assert session.workflow == CHAIN and session.report() == ValidationReport()


def test_redo_with_no_history_raises_edit_error() -> None:
    with pytest.raises(EditError) as caught:
        chain().redo()
    assert str(caught.value) == "Nothing to redo."


# -- edits travel over IPC ---------------------------------------------------------------------------

EVERY_KIND_OF_EDIT: list[Edit] = [
    Connect(edge=data("a.out", "b.left", "ab")),
    Connect(edge=ControlEdge(source="a", target="b")),
    Connect(edge=ConditionalEdge(source="chat", target="b", when='label == "urgent" and score >= 0.5')),
    Disconnect(edge="data:a.out->b.left"),
    AddNode(id="n", node=op("parse")),
    AddNode(
        id="chat",
        node=InstrumentNode(
            uses="chat",
            config={"temperature": 0.2, "stop": ["\n"]},
            metadata=NodeMetadata(position=(10.5, -3.0), label="Ask", extra={"pinned": True}),
        ),
    ),
    UpdateNode(id="g", node=ControlNode(control="gate", config={"when": "in.approved == true"})),
    UpdateNode(id="m", node=ControlNode(control="merge", config={"mode": "all"})),
    RemoveNode(id="n"),
]


@pytest.mark.parametrize("edit", EVERY_KIND_OF_EDIT, ids=repr)
def test_an_edit_round_trips_through_json_as_an_edit(edit: Edit) -> None:
    decoded = msgspec.json.decode(msgspec.json.encode(edit), type=Edit)
    assert decoded == edit and type(decoded) is type(edit)


@pytest.mark.parametrize("edit", EVERY_KIND_OF_EDIT, ids=repr)
def test_an_edit_round_trips_through_msgpack_as_an_edit(edit: Edit) -> None:
    decoded = msgspec.msgpack.decode(msgspec.msgpack.encode(edit), type=Edit)
    assert decoded == edit and type(decoded) is type(edit)


def test_an_edit_is_tagged_by_op_and_writes_edge_ends_as_from_and_to() -> None:
    encoded = msgspec.json.encode(Connect(edge=data("a.out", "b.left")))
    assert encoded == b'{"op":"connect","edge":{"kind":"data","from":"a.out","to":"b.left"}}'
    assert msgspec.json.encode(Disconnect(edge="ab")) == b'{"op":"disconnect","edge":"ab"}'


def test_an_edit_with_an_unknown_op_is_refused_when_decoded() -> None:
    with pytest.raises(msgspec.ValidationError, match="Invalid value 'rename'"):
        msgspec.json.decode(b'{"op":"rename","id":"a"}', type=Edit)


def test_a_decoded_edit_applies_like_the_original() -> None:
    edit = Connect(edge=ControlEdge(source="c", target="a", id="back"))
    direct, remote = chain(), chain()
    decoded: Edit = msgspec.msgpack.decode(msgspec.msgpack.encode(edit), type=Edit)
    assert remote.apply(decoded) == direct.apply(edit)
    assert remote.workflow == direct.workflow


# -- found by the property tests ------------------------------------------------------------------


def test_undoing_an_added_node_keeps_the_edges_that_waited_for_it() -> None:
    session = EditSession(workflow({"read": op("read")}, [data("read.text", "sink.text", "e")]), CATALOGUE)
    before = session.report()
    session.apply(AddNode(id="sink", node=op("sink")))
    assert session.undo() == before
    assert edge_keys(session.workflow) == ["e"]


def test_a_parallel_edge_on_a_cycle_changes_which_edge_the_cycle_names() -> None:
    session = EditSession(
        workflow({"a": op("pair"), "b": op("pair")}, [data("a.out", "b.left", "y"), data("b.out", "a.left", "z")]),
        CATALOGUE,
    )
    report = session.apply(Connect(edge=data("a.out", "b.right", "x")))
    (cycle,) = [p for p in report.problems if p.kind == "cycle"]
    assert cycle.edges == ("x", "z")
    assert report == validate(session.workflow, CATALOGUE).report()


def test_a_document_with_duplicate_edges_cannot_be_edited_until_they_are_removed() -> None:
    edge = data("read.text", "sink.text")
    session = EditSession(workflow({"read": op("read"), "sink": op("sink")}, [edge, edge]), CATALOGUE)
    with pytest.raises(EditError, match=r"duplicate edges \(data:read.text->sink.text\); remove the copies"):
        session.apply(Disconnect(edge="data:read.text->sink.text"))
    assert [p.kind for p in session.report().problems] == ["duplicate_edge"]


def test_an_edit_that_crosses_the_limits_reports_only_the_limit() -> None:
    from symphony.builtin_plugins.workflow import Limits

    session = EditSession(workflow({"read": op("read")}), CATALOGUE, Limits(max_nodes=1))
    report = session.apply(AddNode(id="more", node=op("read")))
    assert [p.kind for p in report.problems] == ["limit"]
    assert report == validate(session.workflow, CATALOGUE, Limits(max_nodes=1)).report()
