"""The rope against a plain ``str``: every operation, on random edits, with non-ASCII text and CRLF."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.builtin_plugins.editor.core import rope as rope_module
from symphony.builtin_plugins.editor.core.rope import Rope, utf16_length

# Small leaves and fanout so a few hundred characters already build a tree several levels deep.
pytestmark = pytest.mark.usefixtures("small_nodes")

_ALPHABET = st.sampled_from(["a", "b", "\n", "\r\n", "é", "中", "😀", "e\u0301", "\U0001f468\u200d\U0001f469", " "])
_TEXT = st.lists(_ALPHABET, max_size=60).map("".join)


@pytest.fixture
def small_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rope_module, "_MAX_LEAF", 8)
    monkeypatch.setattr(rope_module, "_MIN_LEAF", 2)
    monkeypatch.setattr(rope_module, "_FILL", 6)
    monkeypatch.setattr(rope_module, "_FANOUT", 4)
    monkeypatch.setattr(rope_module, "_MIN_FANOUT", 2)


def _line_starts(text: str) -> list[int]:
    return [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]


def _leaf_depths(node: Any, depth: int = 1) -> set[int]:
    if node.text is not None:
        return {depth}
    return set().union(*(_leaf_depths(child, depth + 1) for child in node.children))


def _check(rope: Rope, model: str) -> None:
    assert len(_leaf_depths(rope._root)) == 1, "every leaf at the same depth"
    assert str(rope) == model
    assert len(rope) == len(model)
    assert rope.line_count == model.count("\n") + 1
    assert rope.length_utf16 == len(model.encode("utf-16-le")) // 2
    for line, start in enumerate(_line_starts(model)):
        assert rope.line_start(line) == start
        end = model.find("\n", start)
        assert rope.line_end(line) == (len(model) if end < 0 else end)
    for offset in range(len(model) + 1):
        units = utf16_length(model[:offset])
        assert rope.units_at(offset) == units
        assert rope.offset_of_units(units) == offset
        assert rope.line_of(offset) == model.count("\n", 0, offset)
        line = model.count("\n", 0, offset)
        character = utf16_length(model[_line_starts(model)[line] : offset])
        assert rope.offset_position(offset) == (line, character)
    for line, start in enumerate(_line_starts(model)):
        end = model.find("\n", start)
        text = model[start : len(model) if end < 0 else end]
        expected = {utf16_length(text[:i]): start + i for i in range(len(text) + 1)}
        for character in range(utf16_length(text) + 2):
            assert rope.position_offset(line, character) == expected.get(character)
    assert rope.position_offset(rope.line_count, 0) is None


_EDITS = st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), _TEXT), max_size=25)


@settings(max_examples=150, deadline=None)
@given(initial=st.lists(_ALPHABET, max_size=300).map("".join), edits=_EDITS)
def test_every_operation_matches_a_plain_string_after_random_replacements(
    initial: str, edits: list[tuple[float, float, str]]
) -> None:
    rope, model = Rope(initial), initial
    _check(rope, model)
    for a, b, text in edits:
        start, end = sorted((int(a * len(model)), int(b * len(model))))
        rope.replace(start, end, text)
        model = model[:start] + text + model[end:]
        _check(rope, model)


@settings(max_examples=100, deadline=None)
@given(text=st.lists(_ALPHABET, max_size=200).map("".join), a=st.floats(0, 1), b=st.floats(0, 1))
def test_slice_matches_string_slicing(text: str, a: float, b: float) -> None:
    start, end = sorted((int(a * len(text)), int(b * len(text))))
    assert Rope(text).slice(start, end) == text[start:end]


@settings(max_examples=100, deadline=None)
@given(pieces=st.lists(st.lists(_ALPHABET, max_size=30).map("".join), max_size=10))
def test_a_rope_built_from_pieces_is_their_concatenation(pieces: list[str]) -> None:
    rope = Rope.from_pieces(pieces)
    _check(rope, "".join(pieces))
    rope.replace(0, 0, "x\n")
    _check(rope, "x\n" + "".join(pieces))


def test_a_utf16_offset_inside_a_surrogate_pair_has_no_code_point_offset() -> None:
    rope = Rope("a😀b")
    assert [rope.offset_of_units(u) for u in range(5)] == [0, 1, None, 2, 3]
    assert rope.offset_of_units(5) is None


def test_the_tree_stays_shallow_after_many_edits() -> None:
    rope = Rope()
    for i in range(2000):
        rope.replace(len(rope) // 2, len(rope) // 2, "ab\n")
        if i % 3 == 0:
            rope.replace(len(rope) // 3, len(rope) // 3 + 2, "")
    # 4-way nodes over leaves of at most 8 characters: ~6 levels for this size; a degenerate tree would be hundreds.
    assert rope.depth() <= 12
    assert str(rope).count("\n") == rope.line_count - 1


def test_deleting_everything_leaves_an_empty_buffer_that_takes_edits() -> None:
    rope = Rope("x" * 500)
    rope.replace(0, 500, "")
    assert (str(rope), rope.line_count, rope.depth()) == ("", 1, 1)
    rope.replace(0, 0, "😀\n")
    assert (str(rope), rope.length_utf16) == ("😀\n", 3)


def test_a_range_outside_the_buffer_is_refused() -> None:
    with pytest.raises(IndexError):
        Rope("abc").replace(2, 5, "")
