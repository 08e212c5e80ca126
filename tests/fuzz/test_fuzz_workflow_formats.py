"""Fuzzing the workflow decoder in every format: a Workflow or a WorkflowFormatError, nothing else.

Random bytes, valid documents with bytes flipped, inserted and cut, documents
nested thousands of levels deep, and arbitrary values planted in a node's
config.  A decoded workflow must also encode again (or refuse with the same
error, as TOML does for null).  Inputs are bounded, so no example can hang.
"""

from __future__ import annotations

from functools import reduce
from pathlib import Path
from typing import Any, Final

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symphony.builtin_plugins.workflow import WorkflowFormatError, decode, encode, load
from symphony.builtin_plugins.workflow.formats import FORMATS, Format

EXAMPLE: Final = load(Path(__file__).resolve().parents[2] / "examples" / "triage.toml")
FUZZ: Final = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# JSON-like values: what an attacker can put where the schema allows anything.
SCALARS: Final = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
)
VALUES: Final = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
)


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """``seed`` with a few splices: at a position, some bytes cut and others put in."""
    edit = st.tuples(st.integers(0, len(seed)), st.integers(0, 4), st.binary(max_size=4))
    return st.lists(edit, max_size=6).map(
        lambda edits: reduce(lambda d, e: d[: e[0]] + e[2] + d[e[0] + e[1] :], edits, seed)
    )


def survives(data: bytes, fmt: Format) -> None:
    """The only outcomes allowed: a workflow that encodes again, or the project's own error."""
    try:
        workflow = decode(data, fmt)
    except WorkflowFormatError as error:
        assert str(error)
        return
    for target in FORMATS:
        try:
            encode(workflow, target)
        except WorkflowFormatError:
            assert target == "toml"  # TOML has no null


def deep(fmt: Format, levels: int, kind: str) -> bytes:
    """A workflow whose first node's config holds ``levels`` nested arrays or tables."""
    if fmt == "toml":
        head = 'schema_version = 1\nid = "d"\nname = "d"\n[nodes.a]\nkind = "operator"\nuses = "x"\n'
        if kind == "headers":
            return (head + "[nodes.a.config." + ".".join(["k"] * levels) + "]\n").encode()
        nest = "[" * levels + "]" * levels if kind == "arrays" else "{ a = " * levels + "1" + " }" * levels
        return (head + f"config = {{ x = {nest} }}\n").encode()
    template = encode(msgspec.structs.replace(EXAMPLE, nodes={"a": _node("MARKER")}), fmt)
    marker = msgspec.msgpack.encode("MARKER") if fmt == "msgpack" else msgspec.json.encode("MARKER")
    if fmt == "msgpack":
        inner = (b"\x91" * levels + b"\xc0") if kind == "arrays" else (b"\x81\xa1a" * levels + b"\x01")
    else:
        text = "[" * levels + "]" * levels if kind == "arrays" else '{"a": ' * levels + "1" + "}" * levels
        inner = text.encode()
    return template.replace(marker, inner, 1)


def _node(value: Any) -> Any:
    node = next(iter(EXAMPLE.nodes.values()))
    return msgspec.structs.replace(node, config={"x": value})


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_decode_or_raise_the_format_error(fmt: Format, data: bytes) -> None:
    survives(data, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.data())
def test_valid_documents_mutated_decode_or_raise_the_format_error(fmt: Format, data: st.DataObject) -> None:
    survives(data.draw(mutated(encode(EXAMPLE, fmt))), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(value=VALUES)
def test_any_value_planted_in_a_node_config_decodes_or_raises_the_format_error(fmt: Format, value: Any) -> None:
    try:
        data = encode(msgspec.structs.replace(EXAMPLE, nodes={"a": _node(value)}), fmt)
    except WorkflowFormatError:
        return  # TOML has no null, MessagePack no integer beyond 64 bits
    survives(data, fmt)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=40, deadline=None)
@given(levels=st.integers(1, 6_000), kind=st.sampled_from(["arrays", "tables", "headers"]))
def test_deeply_nested_documents_decode_or_raise_the_format_error(fmt: Format, levels: int, kind: str) -> None:
    if kind == "headers" and fmt != "toml":
        kind = "tables"
    survives(deep(fmt, levels, kind), fmt)
