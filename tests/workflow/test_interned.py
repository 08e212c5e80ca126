"""The interned edge scan (large workflows) reports exactly what the string scan reports."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.builtin_plugins.workflow import Limits
from symphony.builtin_plugins.workflow import interned as interned_module
from symphony.builtin_plugins.workflow import validate as validate_module
from symphony.builtin_plugins.workflow.bulk import EdgeScan
from symphony.builtin_plugins.workflow.interned import scan_interned
from symphony.builtin_plugins.workflow.types import compatible
from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import ConditionalEdge, ControlEdge, DataEdge, Edge, OperatorNode, ValidationReport, Workflow

from .helpers import CATALOGUE, workflow
from .strategies import edges, nodes, workflows
from .test_properties import check_edit_sequence

LIMITS = Limits(timeout=30.0)

#: Node ids of every packing: one word, exactly eight bytes, several words, non-ASCII, and the odd ones.
_LONG_IDS = {
    "a": "a",
    "b": "bbbbbbbb",
    "c": "a-node-name-of-three-words",
    "d": "dé",
    "e": "eeeeeeeee",
    "f": "f",
    "": "",
    "ghost": "ghost",
    "inputs": "inputs",
    "x.y": "x.y",
}
_IDS = st.sampled_from(("a", "b", "c", "d", "e", "f", "a", "b", "c", "", "inputs", "x.y"))


def _renamed(end: str, names: dict[str, str]) -> str:
    node, dot, port = end.partition(".")
    return names.get(node, node) + dot + port


@st.composite
def documents(draw: st.DrawFn) -> Workflow:
    """Workflows with duplicate edges, reserved and dotted ids, and (sometimes) long and non-ASCII ids."""
    names = _LONG_IDS if draw(st.booleans()) else {}
    node_map = {names.get(node_id, node_id): node for node_id, node in draw(st.dictionaries(_IDS, nodes())).items()}
    found = [
        msgspec.structs.replace(edge, source=_renamed(edge.source, names), target=_renamed(edge.target, names))
        for edge in draw(st.lists(edges(), max_size=14))
    ]
    found += draw(st.lists(st.sampled_from(found), max_size=2)) if found else []
    return workflow(node_map, found, outputs={"result": _renamed("a.text", names)})


def _report(doc: Workflow, monkeypatch: pytest.MonkeyPatch, *, interned: bool) -> ValidationReport:
    with monkeypatch.context() as patch:
        patch.setattr(validate_module, "INTERNED_FROM", 0 if interned else 10**9)
        return validate(doc, CATALOGUE, LIMITS).report(with_order=True)


@settings(max_examples=600, deadline=None)
@given(doc=documents())
def test_the_interned_scan_reports_exactly_what_the_string_scan_reports(doc: Workflow) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert _report(doc, monkeypatch, interned=True) == _report(doc, monkeypatch, interned=False)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), doc=workflows(), steps=st.integers(0, 20))
def test_edits_after_an_interned_validation_report_what_a_full_validation_reports(
    data: st.DataObject, doc: Workflow, steps: int
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(validate_module, "INTERNED_FROM", 0)
        check_edit_sequence(data, doc, steps)


def _scan(node_ids: list[str], found: list[Edge]) -> EdgeScan | None:
    signatures = dict.fromkeys(node_ids, CATALOGUE.operators["parse"])
    node_map = dict.fromkeys(node_ids, OperatorNode(uses="parse"))
    return scan_interned(found, node_map, signatures, compatible)


def test_a_name_holding_the_glue_byte_is_left_to_the_string_scan() -> None:
    assert _scan(["a\x00b", "c"], [ControlEdge(source="a\x00b", target="c")]) is None


def test_a_name_too_long_to_pack_is_left_to_the_string_scan() -> None:
    long = "n" * 65
    assert _scan([long, "c"], [ControlEdge(source=long, target="c")]) is None


def test_an_edge_naming_a_longer_node_than_any_is_dangling_not_a_match() -> None:
    scan = _scan(["ab", "c"], [DataEdge(source="abc.text", target="c.text"), ControlEdge(source="ab", target="c")])
    assert scan is not None
    assert scan.graph.pairs() == [(0, 1)]


#: Two names of two words each whose folded 64-bit keys are equal (found by search).
_FOLDED_ALIKE = ("collision-name-A", "z0601524s((fa%wN")


def test_a_name_whose_folded_key_matches_a_node_is_compared_word_by_word() -> None:
    node, stranger = _FOLDED_ALIKE
    edge = ControlEdge(source=stranger, target="c")
    scan = _scan([node, "c"], [edge])
    assert scan is not None
    assert (scan.graph.pairs(), scan.suspects) == ([], [edge])


def test_nodes_whose_folded_keys_collide_are_left_to_the_string_scan() -> None:
    assert _scan([*_FOLDED_ALIKE, "c"], [ControlEdge(source=_FOLDED_ALIKE[0], target="c")]) is None


#: Names the JSON reading of the edges must hand to the text reading: they hold a ``:`` or an escaped character.
_UNREADABLE_IDS = ("a:b", 'q"t', "back\\slash", "tab\t")


def _plain(edge: Edge) -> Edge:
    """The edge without its id, and a conditional edge as a control edge: what the JSON reading takes."""
    if type(edge) is DataEdge:
        return DataEdge(source=edge.source, target=edge.target)
    return ControlEdge(source=edge.source, target=edge.target)


@st.composite
def plain_documents(draw: st.DrawFn) -> Workflow:
    """Documents whose edges have no ids and no conditions, sometimes with a name the JSON reading refuses."""
    doc = draw(documents())
    found = [_plain(edge) for edge in doc.edges]
    odd_name: bool = draw(st.booleans())
    if found and odd_name:
        odd = draw(st.sampled_from(_UNREADABLE_IDS))
        found[0] = msgspec.structs.replace(found[0], source=odd + found[0].source)
    return msgspec.structs.replace(doc, edges=tuple(found))


@settings(max_examples=300, deadline=None)
@given(doc=plain_documents())
def test_the_interned_scan_of_edges_read_from_json_reports_exactly_what_the_string_scan_reports(doc: Workflow) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert _report(doc, monkeypatch, interned=True) == _report(doc, monkeypatch, interned=False)


def _ends(found: list[Edge], *, json: bool) -> list[tuple[int, int, int, bool]] | None:
    """Each end's node number, port number, port length and dot as the interned scan reads them."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(interned_module, "_json_layout_holds", lambda: json)
        ends = interned_module._intern_ends(found, ["a", "b", "dé", "a:b"], ["text", "value", "x.y"])
    if ends is None:
        return None
    assert ends.kind.tolist() == [interned_module._KINDS[type(edge)] for edge in found]
    assert ends.named == any(edge.id for edge in found)
    columns = (ends.node, ends.port, ends.port_length, ends.dotted)
    return list(zip(*(column.tolist() for column in columns), strict=True))


_NAMES = st.sampled_from(("a", "b", "dé", "ghost", "", *_UNREADABLE_IDS))
_PORT_NAMES = st.sampled_from(("", ".text", ".value", ".x.y", ".", ".nope", ".té"))
_ENDS = st.tuples(_NAMES, _PORT_NAMES).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    found=st.lists(
        st.one_of(
            st.builds(DataEdge, source=_ENDS, target=_ENDS),
            st.builds(ControlEdge, source=_ENDS, target=_ENDS),
            st.builds(DataEdge, source=_ENDS, target=_ENDS, id=st.sampled_from(("", "e1"))),
            st.builds(ConditionalEdge, source=_ENDS, target=_ENDS, when=st.just("ok")),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_the_json_reading_of_the_edges_finds_what_the_text_reading_finds(found: list[Edge]) -> None:
    assert _ends(found, json=True) == _ends(found, json=False)


def test_data_and_control_edges_without_ids_are_read_from_their_json() -> None:
    found: list[Edge] = [DataEdge(source="a.text", target="dé.x.y"), ControlEdge(source="dé", target="b")]
    spans = interned_module._json_spans(found)
    assert spans is not None
    text = bytes(spans.buffer)
    cuts = zip(spans.starts.tolist(), spans.cut.tolist(), spans.stops.tolist(), strict=True)
    assert [(text[a:b].decode(), text[b:c].decode()) for a, b, c in cuts] == [
        ("a", ".text"),
        ("dé", ""),
        ("dé", ".x.y"),
        ("b", ""),
    ]


@pytest.mark.parametrize(
    "edge",
    [
        DataEdge(source="a.text", target="b.text", id="e1"),
        ConditionalEdge(source="a", target="b", when="ok"),
        ControlEdge(source="a:b", target="b"),
        ControlEdge(source='q"t', target="b"),
        ControlEdge(source="tab\t", target="b"),
    ],
    ids=["id", "condition", "colon", "quote", "control-character"],
)
def test_an_edge_the_json_layout_does_not_cover_is_read_as_text(edge: Edge) -> None:
    assert interned_module._json_spans([DataEdge(source="a.text", target="b.text"), edge]) is None


def test_a_name_that_utf8_cannot_encode_is_left_to_the_string_scan() -> None:
    assert _scan(["a\ud800", "c"], [ControlEdge(source="a\ud800", target="c")]) is None


def _read_back(spans: interned_module._Spans) -> list[tuple[str, str]]:
    text = bytes(spans.buffer)
    cuts = zip(spans.starts.tolist(), spans.cut.tolist(), spans.stops.tolist(), strict=True)
    return [(text[a:b].decode(), text[b:c].decode()) for a, b, c in cuts]


def test_a_scan_while_an_earlier_scans_buffer_is_still_viewed_reads_into_a_buffer_of_its_own() -> None:
    first = interned_module._json_spans([DataEdge(source="a.text", target="b.value")])
    assert first is not None
    interned_module._SPARE.encoded = first.spare  # as if handed back while its arrays live on
    second = interned_module._json_spans([ControlEdge(source="dé", target="b")])
    assert second is not None
    assert second.spare is not first.spare
    assert _read_back(first) == [("a", ".text"), ("b", ".value")]
    assert _read_back(second) == [("dé", ""), ("b", "")]


def test_scans_in_several_threads_each_read_their_own_edges() -> None:
    documents: dict[int, list[Edge]] = {
        thread: [DataEdge(source=f"a.{'text' if thread % 2 else 'value'}", target="b.text")] * (50 + thread)
        for thread in range(4)
    }
    assert interned_module._json_layout_holds()  # so these scans read JSON, through the thread's spare buffers

    def ends(thread: int) -> list[list[int]]:
        found = interned_module._intern_ends(documents[thread], ["a", "b"], ["text", "value"])
        assert found is not None
        return [found.node.tolist(), found.port.tolist(), found.port_length.tolist()]

    expected = {thread: ends(thread) for thread in documents}

    def scan_often(thread: int) -> bool:
        return all(ends(thread) == expected[thread] for _ in range(30))

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(scan_often, documents))
