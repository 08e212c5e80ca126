"""The interned edge scan (large workflows) reports exactly what the string scan reports."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.builtin_plugins.workflow import Limits
from symphony.builtin_plugins.workflow import validate as validate_module
from symphony.builtin_plugins.workflow.bulk import EdgeScan
from symphony.builtin_plugins.workflow.interned import scan_interned
from symphony.builtin_plugins.workflow.types import compatible
from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import ControlEdge, DataEdge, Edge, OperatorNode, ValidationReport, Workflow

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
