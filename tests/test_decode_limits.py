"""Every document Symphony decodes is bounded in nesting depth and size, and says so clearly.

Hostile documents 5,000 levels deep used to end in RecursionError with a
traceback; these go through the real ``symphony`` command (a subprocess) and
the real codecs.  See docs/workflows.md#document-limits.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import given
from hypothesis import strategies as st

from symphony.builtin_plugins.ipc.codecs import CODECS
from symphony.builtin_plugins.workflow import WorkflowFormatError, decode, encode
from symphony.builtin_plugins.workflow.formats import Format
from symphony.hookspecs import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    SCHEMA_VERSION,
    AddNode,
    CodecSpec,
    ConfigField,
    ConfigurationError,
    MessageEnvelope,
    NodeMetadata,
    OperatorNode,
    RequestPayload,
    Workflow,
    WorkflowMetadata,
    check_size,
    too_deep,
)
from symphony.host.extensions import read_secrets_file
from symphony.host.extensions._values import coerce_text

if TYPE_CHECKING:
    from tests.conftest import Symphony

HOSTILE: Final = 5_000
ARRAYS: Final = "[" * HOSTILE + "]" * HOSTILE
HEADER: Final = 'schema_version = 1\nid = "deep"\nname = "deep"\n[nodes.a]\nkind = "operator"\nuses = "json-parse"\n'
JSON_HEADER: Final = '{"schema_version": 1, "id": "deep", "name": "deep", "nodes": {"a": {"kind": "operator",'


def nested(levels: int) -> Any:
    """``levels`` lists inside each other, built without recursion."""
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


# Each hostile workflow nests inside a node's config, where any value is allowed.
WORKFLOWS: Final = {
    "toml-arrays.toml": HEADER + "config = { x = " + ARRAYS + " }\n",
    "toml-inline-tables.toml": HEADER + "config = { x = " + "{ a = " * HOSTILE + "1" + " }" * HOSTILE + " }\n",
    "toml-table-headers.toml": HEADER + "[nodes.a.config." + ".".join(["k"] * HOSTILE) + "]\n",
    "json-arrays.json": JSON_HEADER + ' "uses": "json-parse", "config": {"x": ' + ARRAYS + "}}}}",
    "json-objects.json": JSON_HEADER + ' "uses": "x", "config": ' + '{"a": ' * HOSTILE + "1" + "}" * HOSTILE + "}}}",
}


def _msgpack_workflow(tmp_path: Path) -> Path:
    # msgspec cannot encode what is this deep either: write the MessagePack by hand.
    head = msgspec.msgpack.encode({"schema_version": 1, "id": "deep", "name": "deep"})
    node = msgspec.msgpack.encode({"kind": "operator", "uses": "x"})
    body = b"\x81\xa6config\x81\xa1x" + b"\x91" * HOSTILE + b"\xc0"  # config = {"x": [[[...null...]]]}
    document = bytes([head[0] + 1]) + head[1:] + b"\xa5nodes\x81\xa1a" + bytes([node[0] + 1]) + node[1:] + body
    path = tmp_path / "deep.msgpack"
    path.write_bytes(document)
    return path


def _write_all(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / name for name in WORKFLOWS]
    for path in paths:
        path.write_text(WORKFLOWS[path.name], encoding="utf-8")
    return [*paths, _msgpack_workflow(tmp_path)]


# -- the real command ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("command", [("workflow", "validate"), ("run",)], ids=["workflow-validate", "run"])
def test_a_hostile_deeply_nested_workflow_exits_2_with_one_clear_line(
    symphony: Callable[..., Symphony], tmp_path: Path, command: tuple[str, ...]
) -> None:
    runner = symphony()
    for path in _write_all(tmp_path):
        result = runner.run(*command, str(path))
        assert result.returncode == 2, (path.name, result.stderr)
        assert "Traceback" not in result.stderr, path.name
        assert result.stderr.startswith(f"Error: {path}: The document nests deeper than the limit of 64 levels")
        assert result.stderr.count("\n") == 1, result.stderr


@pytest.mark.slow
def test_a_hostile_deeply_nested_run_input_is_a_usage_error(symphony: Callable[..., Symphony], tmp_path: Path) -> None:
    flow = tmp_path / "any.toml"
    flow.write_text(
        'schema_version = 1\nid = "any"\nname = "any"\n[inputs]\nx = { type = "any" }\n[outputs]\ntext = "t.text"\n'
        '[nodes.t]\nkind = "operator"\nuses = "text-template"\nconfig = { template = "{value}" }\n'
        '[[edges]]\nkind = "data"\nfrom = "inputs.x"\nto = "t.values"\n'
    )
    (tmp_path / "deep.json").write_text(ARRAYS)
    result = symphony().run("run", str(flow), "--input", f"x=@{tmp_path / 'deep.json'}")
    assert result.returncode == 2
    assert result.stderr.endswith(
        "Error: Invalid value for --input: Input 'x' nests deeper than the limit of 64 levels;"
        " flatten its deepest value.\n"
    )


@pytest.mark.slow
def test_a_workflow_over_the_size_limit_exits_2_without_being_read_whole(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: costs no disk
    result = symphony().run("workflow", "validate", str(path))
    assert result.returncode == 2
    assert result.stderr == f"Error: {path}: {path} is larger than the limit of 64 MiB; split it or shorten it.\n"


@pytest.mark.slow
def test_a_hostile_deeply_nested_settings_file_is_a_one_line_configuration_error(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("[components.x.options]\nv = " + ARRAYS + "\n")
    result = symphony().run("--config", str(path), "config", "show")
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: Settings file {path} nests deeper than the limit of 64 levels; flatten its deepest value.\n"
    )


@pytest.mark.slow
def test_a_deeply_nested_set_override_or_environment_value_is_a_one_line_configuration_error(
    symphony: Callable[..., Symphony],
) -> None:
    runner = symphony()
    result = runner.run("--set", f"components.x.options.v={ARRAYS}", "config", "show")
    assert (result.returncode, result.stderr) == (
        1,
        "Error: The value of --set components.x.options.v nests deeper than the limit of 64 levels;"
        " flatten its deepest value.\n",
    )
    result = runner.run("config", "show", env={"SYMPHONY_COMPONENTS__X__OPTIONS": '{"v": ' + ARRAYS + "}"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "environment value of `options` nests deeper than the limit of 64 levels" in result.stderr


@pytest.mark.slow
def test_a_symphony_environment_table_that_is_not_json_is_a_one_line_configuration_error(
    symphony: Callable[..., Symphony],
) -> None:
    # Found while fuzzing the settings decoders: pydantic-settings' SettingsError escaped as a traceback.
    result = symphony().run("config", "show", env={"SYMPHONY_COMPONENTS__X__OPTIONS": "{not json"})
    assert (result.returncode, result.stderr) == (
        1,
        "Error: The SYMPHONY_* environment value of `components` is not valid JSON; give a table or list as JSON,"
        """ e.g. SYMPHONY_COMPONENTS__NAME__OPTIONS='{"key": 1}'.\n""",
    )


@pytest.mark.slow
def test_a_hostile_deeply_nested_manifest_is_a_problem_of_ext_validate(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    manifest = tmp_path / "symphony-extension.toml"
    manifest.write_text('schema_version = 1\n[extension]\nname = "deep"\nx = ' + ARRAYS)
    result = symphony().run("ext", "validate", str(manifest))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == (
        f"{manifest}: 1 problem(s)\n  manifest: expected at most 1 MiB and 64 levels of nesting, found a manifest"
        " that nests deeper than the limit of 64 levels; flatten its deepest value.\n"
    )


def test_a_hostile_deeply_nested_secrets_file_is_a_configuration_error(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[ext]\ntoken = " + ARRAYS + "\n")
    secrets.chmod(0o600)
    with pytest.raises(ConfigurationError, match=r"^Secrets file .* nests deeper than the limit of 64 levels;"):
        read_secrets_file(secrets)


def test_a_hostile_deeply_nested_extension_setting_given_as_text_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"^An extension setting given as text nests deeper than the limit"):
        coerce_text(ConfigField(type="list"), ARRAYS)


# -- in process: the limit itself -----------------------------------------------------------------


def _workflow_nesting(levels: int) -> bytes:
    """A JSON workflow whose deepest value is ``levels`` deep (workflow, nodes, node, config: 4 levels)."""
    config = {"x": nested(levels - 4)}
    document = Workflow(
        schema_version=SCHEMA_VERSION, id="w", name="w", nodes={"a": OperatorNode(uses="x", config=config)}
    )
    return encode(document, "json")


def test_a_workflow_exactly_at_the_depth_limit_decodes() -> None:
    assert decode(_workflow_nesting(MAX_DEPTH), "json").nodes["a"].config["x"] == nested(MAX_DEPTH - 4)


def test_a_workflow_one_level_over_the_depth_limit_names_where() -> None:
    with pytest.raises(WorkflowFormatError) as raised:
        decode(_workflow_nesting(MAX_DEPTH + 1), "json")
    assert str(raised.value) == (
        "The document nests deeper than the limit of 64 levels at `nodes.a.config.x[0][0][0][0]…`; flatten that value."
    )


def _any_fields(kind: mi.Type, keys: tuple[str, ...] = (), *, free: bool = False) -> set[tuple[str, ...]]:
    """Where the model holds values typed ``Any`` (with ``free``: FreeValue), as document keys (``*``: a dict's key)."""
    if isinstance(kind, mi.AnyType) if not free else isinstance(kind, mi.CustomType) and kind.cls is object:
        return {keys}
    if isinstance(kind, mi.Metadata):
        return _any_fields(kind.type, keys, free=free)
    if isinstance(kind, mi.UnionType | mi.TupleType):
        members = kind.types if isinstance(kind, mi.UnionType) else kind.item_types
        return set().union(*(_any_fields(member, keys, free=free) for member in members))
    if isinstance(kind, mi.DictType | mi.VarTupleType):
        value = kind.value_type if isinstance(kind, mi.DictType) else kind.item_type
        return _any_fields(value, (*keys, "*"), free=free)
    if isinstance(kind, mi.StructType):
        return set().union(*(_any_fields(field.type, (*keys, field.encode_name), free=free) for field in kind.fields))
    return set()


def test_the_free_values_checked_are_every_free_value_field_of_the_workflow_model() -> None:
    # The thorough decode walks only these (the typed rest is bounded by its schema): a new field must be added there.
    fields = {keys[:-1] for keys in _any_fields(mi.type_info(Workflow), free=True) if keys[-1] == "*"}
    assert fields == {
        ("metadata", "extra"),
        ("nodes", "*", "config"),
        ("nodes", "*", "with"),
        ("nodes", "*", "metadata", "extra"),
    }


def test_the_workflow_model_types_no_value_any_but_as_a_free_value() -> None:
    # The decoder checks depth and integers where msgspec hands it a FreeValue (`object`); an Any would go unchecked.
    assert _any_fields(mi.type_info(Workflow)) == set()


def test_a_free_value_nested_too_deep_is_found_inside_a_typed_edit() -> None:
    # An edit reaches its free values through typed Structs (edit, node, config: 3 levels); the walk goes into them.
    def edit(levels: int) -> AddNode:
        return AddNode(id="a", node=OperatorNode(uses="x", config={"x": nested(levels)}))

    assert too_deep(edit(MAX_DEPTH - 3)) is None
    assert too_deep(edit(MAX_DEPTH - 2)) == "node.config.x[0][0][0][0][0]…"


def _with_free_value(where: str, value: Any) -> Workflow:
    node = {
        "config": OperatorNode(uses="x", config={"v": value}),
        "with": OperatorNode(uses="x", with_={"v": value}),
        "node-extra": OperatorNode(uses="x", metadata=NodeMetadata(extra={"v": value})),
    }.get(where, OperatorNode(uses="x"))
    extra = {"v": value} if where == "extra" else {}
    return Workflow(
        schema_version=SCHEMA_VERSION, id="w", name="w", metadata=WorkflowMetadata(extra=extra), nodes={"a": node}
    )


FREE_VALUES: Final = {
    "config": ("nodes.a.config.v", 4),
    "with": ("nodes.a.with.v", 4),
    "node-extra": ("nodes.a.metadata.extra.v", 5),
    "extra": ("metadata.extra.v", 3),
}


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
@pytest.mark.parametrize("where", FREE_VALUES)
def test_a_free_value_one_level_over_the_depth_limit_names_where_wherever_it_is(where: str, fmt: Format) -> None:
    path, depth = FREE_VALUES[where]
    with pytest.raises(WorkflowFormatError) as raised:
        decode(encode(_with_free_value(where, nested(MAX_DEPTH + 1 - depth)), fmt), fmt)
    shown = "".join(re.findall(r"\.?[a-z]+", path)[:8])
    assert str(raised.value).startswith(f"The document nests deeper than the limit of 64 levels at `{shown}")


@pytest.mark.parametrize("where", FREE_VALUES)
def test_a_free_value_exactly_at_the_depth_limit_decodes_wherever_it_is(where: str) -> None:
    workflow = _with_free_value(where, nested(MAX_DEPTH - FREE_VALUES[where][1]))
    assert decode(encode(workflow, "json"), "json") == workflow


@pytest.mark.parametrize("where", FREE_VALUES)
def test_an_integer_beyond_64_bits_is_refused_wherever_a_free_value_holds_it(where: str) -> None:
    text = encode(_with_free_value(where, {"list": [1, [2, -(2**63)]]}), "json").replace(
        b"-9223372036854775808", b"-9223372036854775809"
    )
    with pytest.raises(WorkflowFormatError, match=r"integer outside -2\*\*63 \.\. 2\*\*64-1"):
        decode(text, "json")


def test_integers_at_both_ends_of_64_bits_are_kept() -> None:
    workflow = _with_free_value("with", [-(2**63), 2**64 - 1])
    assert decode(encode(workflow, "json"), "json") == workflow


def test_the_depth_check_names_the_keys_leading_to_a_value_first_and_counts_them_in_the_elision() -> None:
    assert too_deep([[[]]], limit=2, at=("a", "b")) == "a.b[0][0]"
    assert too_deep([[[]]], limit=2, at=tuple("abcdefg")) == "a.b.c.d.e.f.g[0]…"
    assert too_deep([[[]]], limit=3, at=("a", "b")) is None


def test_a_workflow_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(WorkflowFormatError, match="larger than the limit of 64 MiB"):
        decode(b" " * (MAX_DOCUMENT_BYTES + 1), "json")


def test_the_depth_check_walks_a_value_far_deeper_than_the_interpreter_could_recurse() -> None:
    assert too_deep(nested(200_000), limit=10) == "[0][0][0][0][0][0][0][0]…"
    assert too_deep(nested(200_000), limit=200_000) is None


def _depth(value: Any) -> int:
    """Levels of nesting, the obvious recursive way (fine for the shallow values hypothesis makes)."""
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


KEYS = st.text(alphabet="ab.[ '", max_size=3)  # plain, empty and odd keys alike
STEP = re.compile(r"\[(\d+)\]|\.?([A-Za-z0-9_-]+)|\[('(?:[^'\\]|\\.)*'|\"[^\"]*\")\]")  # [0], .name, ['odd']


@given(
    value=st.recursive(
        st.none() | st.integers() | st.text(max_size=3),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
        max_leaves=30,
    ),
    limit=st.integers(1, 12),
)
def test_the_depth_check_agrees_with_the_definition(value: Any, limit: int) -> None:
    where = too_deep(value, limit)
    assert (where is None) == (_depth(value) <= limit)
    if where is not None and not where.endswith("…"):  # the path it names leads to a container below the limit
        node = value
        for index, name, quoted in STEP.findall(where):
            node = node[int(index)] if index else node[name or ast.literal_eval(quoted)]
        assert _depth(node) >= 1


def test_the_depth_check_quotes_keys_that_are_not_plain() -> None:
    assert too_deep({"": {"a b": [[]]}}, limit=3) == "['']['a b'][0]"


def test_the_size_check_names_the_limit() -> None:
    with pytest.raises(ValueError, match=r"^X is larger than the limit of 10 bytes; split it or shorten it\.$"):
        check_size(b"12345678901", what="X", error=ValueError, limit=10)


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_a_workflow_with_an_integer_beyond_64_bits_is_a_format_error(fmt: Format) -> None:
    # Found by tests/fuzz: it decoded, then `symphony run` crashed checkpointing it (OverflowError).
    big = 2**64
    toml = HEADER + f"config = {{ x = {big} }}\n"
    text = toml if fmt == "toml" else JSON_HEADER + f' "uses": "x", "config": {{"x": {big}}}}}}}}}'
    with pytest.raises(WorkflowFormatError, match=r"integer outside -2\*\*63 \.\. 2\*\*64-1"):
        decode(text.encode(), fmt)


@pytest.mark.slow
def test_run_of_a_workflow_with_an_integer_beyond_64_bits_exits_2(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    flow = tmp_path / "big.toml"
    flow.write_text(HEADER + f"config = {{ x = {2**70} }}\n")
    result = symphony().run("run", str(flow))
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: {flow}: The document holds an integer outside -2**63 .. 2**64-1")


# -- envelopes -----------------------------------------------------------------------------------


def _envelope(params: Any) -> MessageEnvelope:
    return MessageEnvelope.create(RequestPayload(method="m", params=params), sender="a", recipient="b")


@pytest.mark.parametrize("codec", CODECS, ids=lambda codec: codec.name)
def test_an_envelope_over_the_depth_limit_is_a_decode_error_naming_where(codec: CodecSpec) -> None:
    frame = codec.encode(_envelope({"v": nested(MAX_DEPTH)}))
    with pytest.raises(msgspec.DecodeError) as raised:
        codec.decode(frame)
    assert str(raised.value).startswith("The envelope nests deeper than the limit of 64 levels at `payload.params.v")


@pytest.mark.parametrize("codec", CODECS, ids=lambda codec: codec.name)
def test_an_envelope_within_the_depth_limit_round_trips(codec: CodecSpec) -> None:
    envelope = _envelope({"v": nested(MAX_DEPTH - 3)})  # envelope, payload, params: 3 levels
    assert codec.decode(codec.encode(envelope)) == envelope


@pytest.mark.parametrize("codec", CODECS, ids=lambda codec: codec.name)
def test_a_hostile_deeply_nested_envelope_is_a_decode_error_not_a_recursion_error(codec: CodecSpec) -> None:
    marker = codec.encode("MARKER")  # a string in the params, swapped for 5,000 levels
    deep = ARRAYS.encode() if codec.name == "json" else b"\x91" * HOSTILE + b"\xc0"
    frame = codec.encode(_envelope({"v": "MARKER"})).replace(marker, deep)
    with pytest.raises(msgspec.DecodeError, match=r"^The envelope nests deeper than the limit of 64 levels;"):
        codec.decode(frame)


# -- integers longer than Python converts from text ---------------------------------------------

LONG_INTEGER: Final = "9" * 5000  # tomllib lets int()'s ValueError escape past TOMLDecodeError


def test_a_toml_workflow_with_a_5000_digit_integer_is_a_format_error() -> None:
    with pytest.raises(WorkflowFormatError, match="An integer has more than 4300 digits"):
        decode((HEADER + f"config = {{ x = {LONG_INTEGER} }}\n").encode(), "toml")


def test_a_secrets_file_with_a_5000_digit_integer_is_a_configuration_error(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f"[ext]\ntoken = {LONG_INTEGER}\n")
    secrets.chmod(0o600)
    with pytest.raises(ConfigurationError, match="more than 4300 digits"):
        read_secrets_file(secrets)


@pytest.mark.slow
def test_workflow_validate_of_a_5000_digit_integer_exits_2_without_a_traceback(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    flow = tmp_path / "long.toml"
    flow.write_text(HEADER + f"config = {{ x = {LONG_INTEGER} }}\n")
    result = symphony().run("workflow", "validate", str(flow))
    assert (result.returncode, "Traceback" in result.stderr) == (2, False)
    assert "An integer has more than 4300 digits" in result.stderr


@pytest.mark.slow
def test_a_manifest_with_a_5000_digit_integer_is_a_problem_of_ext_validate(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    manifest = tmp_path / "symphony-extension.toml"
    manifest.write_text(f'schema_version = 1\n[extension]\nname = "long"\nx = {LONG_INTEGER}\n')
    result = symphony().run("ext", "validate", str(manifest))
    assert (result.returncode, "Traceback" in result.stderr + result.stdout) == (1, False)
    assert "expected valid TOML, found an integer has more than 4300 digits" in result.stdout
