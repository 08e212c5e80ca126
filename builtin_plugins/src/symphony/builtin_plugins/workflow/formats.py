"""Reading and writing workflow documents: TOML (by hand), JSON, pretty JSON, MessagePack.

Decoding goes straight into the typed model (msgspec validates while it
parses), and the free values (``config``, ``with``, ``extra``) are checked as
they are read (see ``_check_free``).  Only when that fails is the document read
again, loosely or thoroughly, to say precisely what is wrong: a syntax error
with its line and column, a schema version this SDK does not know, a field with
its path, or a value nested too deep with where it is.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec

from symphony.hookspecs import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    SCHEMA_VERSION,
    SymphonyError,
    Workflow,
    atomic_write,
    check_size,
    decode_bounded,
    loads_toml,
    read_bounded,
    too_deep,
)

if TYPE_CHECKING:  # parsed only when a document is wrong: listing plugins must not pay for it
    import tomllib

__all__ = ["FORMATS", "Format", "WorkflowFormatError", "decode", "encode", "format_for", "load", "save"]

Format = Literal["toml", "json", "json-pretty", "msgpack"]
FORMATS: Final[tuple[Format, ...]] = ("toml", "json", "json-pretty", "msgpack")
_SUFFIXES: Final[dict[str, Format]] = {".toml": "toml", ".json": "json", ".msgpack": "msgpack", ".mpk": "msgpack"}

_json_encoder = msgspec.json.Encoder()
_msgpack_encoder = msgspec.msgpack.Encoder()


class WorkflowFormatError(SymphonyError):
    """A document that cannot be read as a workflow; ``line`` and ``column`` are 1-based when known."""

    category = "workflow.format"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line, self.column = line, column


def format_for(path: Path) -> Format:
    """The format a file's suffix names; raises WorkflowFormatError for an unknown suffix."""
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise WorkflowFormatError(
            f"Cannot tell the format of {path.name!r} from its suffix; use .toml, .json or .msgpack."
        ) from None


def _position(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    return before.count(b"\n") + 1, offset - (before.rfind(b"\n") + 1) + 1


def _check_version(version: object) -> None:
    if version == SCHEMA_VERSION:
        return
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise WorkflowFormatError(
            f"This document has schema_version {version}, newer than the {SCHEMA_VERSION} this Symphony reads;"
            " upgrade symphony-hookspecs to read it."
        )
    raise WorkflowFormatError(
        f"Unknown schema_version {version!r}; expected {SCHEMA_VERSION}. Add `schema_version = {SCHEMA_VERSION}`"
        " at the top of the document."
    )


def _loose(data: bytes, fmt: Format) -> Any:
    """The document as plain data, or a WorkflowFormatError pointing at the syntax error."""
    if fmt == "toml":
        import tomllib

        try:
            return loads_toml(data.decode("utf-8"))
        except UnicodeDecodeError as error:
            line, column = _position(data, error.start)
            raise WorkflowFormatError(
                f"The document is not UTF-8 text (line {line}, column {column}).", line=line, column=column
            ) from None
        except tomllib.TOMLDecodeError as error:
            raise _toml_error(error) from None
    try:
        return msgspec.json.decode(data) if fmt in ("json", "json-pretty") else msgspec.msgpack.decode(data)
    except msgspec.DecodeError as error:
        message = str(error)
        if "(byte " in message:
            offset = int(message.rsplit("(byte ", 1)[1].rstrip(")"))
            line, column = _position(data, offset)
            raise WorkflowFormatError(
                f"{message.rsplit(' (byte', 1)[0]} at line {line}, column {column}.", line=line, column=column
            ) from None
        raise WorkflowFormatError(f"The document cannot be parsed as {fmt}: {message}.") from None


def _toml_error(error: tomllib.TOMLDecodeError) -> WorkflowFormatError:
    message = str(error)
    line = column = None
    if "(at line " in message:
        where = message.rsplit("(at line ", 1)[1].rstrip(")")
        line_text, _, column_text = where.partition(", column ")
        line, column = int(line_text), int(column_text)
        message = message.rsplit(" (at line", 1)[0]
        return WorkflowFormatError(f"{message} at line {line}, column {column}.", line=line, column=column)
    return WorkflowFormatError(f"The document is not valid TOML: {message}.")


def decode(data: bytes, fmt: Format) -> Workflow:
    """The workflow in ``data``; raises WorkflowFormatError saying what is wrong and where.

    Bounded in size and nesting depth (see symphony.hookspecs.decode_bounded).
    """
    check_size(data, what="The document", error=WorkflowFormatError, limit=MAX_DOCUMENT_BYTES)
    try:  # free values are checked as they are read (see _check_free): nothing is left to walk afterwards
        return decode_bounded(
            lambda: _decode(data, fmt, checked=True),
            what="The document",
            error=WorkflowFormatError,
            open_values=_nothing_open,
        )
    except _Recheck:
        pass
    integers = fmt != "msgpack"  # MessagePack cannot carry an integer beyond 64 bits
    return decode_bounded(
        lambda: _decode(data, fmt, checked=False),
        what="The document",
        error=WorkflowFormatError,
        open_values=lambda workflow: _free_values(workflow, integers=integers),
    )


class _Recheck(Exception):  # not a ValueError, which msgspec would turn into a ValidationError
    """A free value nests close to the depth limit or holds a long integer: decode again, thoroughly."""


#: How deep an entry of a free value may nest where the limit is tightest (``nodes.<id>.metadata.extra.<key>``).
_ENTRY_DEPTH: Final = MAX_DEPTH - 5


def _check_free(*, integers: bool) -> Callable[[type, Any], Any]:
    """The ``dec_hook`` msgspec calls with each entry of a free value (hookspecs' FreeValue) as it reads it.

    The Workflow model holds no other type msgspec does not know, and msgspec has
    already checked that the value is a table with string keys.  An entry that
    nests deeper than any may, or holds an integer beyond 64 bits (with
    ``integers``), sends the document to the thorough decode, which measures it
    from where it is and names the place, or lets it through.
    """

    def check(_kind: type, value: Any) -> Any:
        kind = type(value)
        if kind is dict or kind is list:
            if too_deep(value, _ENTRY_DEPTH) is not None or (integers and _long_integer(value)):
                raise _Recheck
        elif kind is int and integers and not -(2**63) <= value < 2**64:
            raise _Recheck
        return value

    return check


def _nothing_open(_workflow: Workflow) -> tuple[()]:
    return ()


_TOML_CHECK: Final = _check_free(integers=True)  # JSON's too: both can hold an integer beyond 64 bits
_JSON_CHECKED: Final = msgspec.json.Decoder(Workflow, dec_hook=_TOML_CHECK)
_MSGPACK_CHECKED: Final = msgspec.msgpack.Decoder(Workflow, dec_hook=_check_free(integers=False))
_JSON: Final = msgspec.json.Decoder(Workflow)
_MSGPACK: Final = msgspec.msgpack.Decoder(Workflow)


#: The node fields holding free values, with their keys in the document.
_NODE_VALUES: Final = (
    (attrgetter("config"), ("config",)),
    (attrgetter("with_"), ("with",)),
    (attrgetter("metadata.extra"), ("metadata", "extra")),
)


def _free_values(workflow: Workflow, *, integers: bool) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every non-empty free value, with its keys: the only parts of a workflow that nest beyond the schema.

    The thorough decode's walk.  The rest is typed and bounded by msgspec while
    decoding.  Each field is first tested on all nodes at once (at C speed).  With
    ``integers``, each is also checked for an integer beyond 64 bits (the typed
    ones cannot hold one).  tests/test_decode_limits.py checks that these are all
    the free-value fields of the model.
    """
    found: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    if workflow.metadata.extra:
        found.append((("metadata", "extra"), workflow.metadata.extra))
    nodes = workflow.nodes
    for get, keys in _NODE_VALUES:
        if any(map(get, nodes.values())):
            found += [(("nodes", name, *keys), value) for name, node in nodes.items() if (value := get(node))]
    for _keys, value in found if integers else ():
        _check_integers(value)
    return found


def _check_integers(value: dict[str, Any]) -> None:
    """Refuse an integer beyond 64 bits: JSON and TOML can hold one, MessagePack (and run checkpoints) cannot."""
    if _long_integer(value):
        raise WorkflowFormatError(
            "The document holds an integer outside -2**63 .. 2**64-1, which MessagePack (and run checkpoints)"
            " cannot hold; write it as a string or a float."
        )


def _long_integer(value: dict[str, Any] | list[Any]) -> bool:
    """Whether ``value`` holds an integer beyond 64 bits."""
    stack: list[Any] = [value]
    while stack:  # no recursion: the value may be nested far deeper than the limit
        node = stack.pop()
        for item in node.values() if type(node) is dict else node:
            kind = type(item)
            if kind is int and not -(2**63) <= item < 2**64:
                return True
            if kind is dict or kind is list:
                stack.append(item)
    return False


def _decode(data: bytes, fmt: Format, *, checked: bool) -> Workflow:
    try:
        if fmt == "toml":
            workflow = msgspec.toml.decode(data, type=Workflow, dec_hook=_TOML_CHECK if checked else None)
        elif fmt == "msgpack":
            workflow = (_MSGPACK_CHECKED if checked else _MSGPACK).decode(data)
        else:
            workflow = (_JSON_CHECKED if checked else _JSON).decode(data)
    except (msgspec.DecodeError, ValueError) as error:  # ValueError: TOML, UTF-8, or a too long integer in TOML
        loose = _loose(data, fmt)  # raises with the position when the syntax is at fault
        if isinstance(loose, dict):
            _check_version(loose.get("schema_version"))
        if isinstance(error, msgspec.ValidationError):
            raise WorkflowFormatError(f"{error}. See docs/workflows.md for the format.") from None
        raise WorkflowFormatError(f"The document is not a workflow: {error}.") from None
    _check_version(workflow.schema_version)
    return workflow


def _msgpack(workflow: Workflow) -> bytes:
    try:
        return _msgpack_encoder.encode(workflow)
    except OverflowError:
        raise WorkflowFormatError(
            "The document holds an integer outside -2**63 .. 2**64-1, which MessagePack (and run checkpoints)"
            " cannot hold; write it as a string or a float."
        ) from None


def encode(workflow: Workflow, fmt: Format) -> bytes:
    """``workflow`` in ``fmt``; TOML cannot hold null values and says where one is."""
    if fmt == "msgpack":
        return _msgpack(workflow)
    if fmt == "json":
        return _json_encoder.encode(workflow)
    if fmt == "json-pretty":
        return msgspec.json.format(_json_encoder.encode(workflow), indent=2) + b"\n"
    try:
        return msgspec.toml.encode(workflow)
    except (TypeError, ValueError) as error:
        raise WorkflowFormatError(
            f"This workflow cannot be written as TOML ({error}); TOML has no null. Use JSON, or remove the null value."
        ) from None


def load(path: Path) -> Workflow:
    """Read and decode a workflow file, its format chosen by suffix."""
    fmt = format_for(path)
    try:
        with path.open("rb") as file:
            data = read_bounded(file, what=str(path), error=WorkflowFormatError, limit=MAX_DOCUMENT_BYTES)
    except OSError as error:
        raise WorkflowFormatError(f"Cannot read {path}: {error.strerror}.") from None
    return decode(data, fmt)


def save(workflow: Workflow, path: Path, fmt: Format | None = None) -> None:
    """Write atomically (a temporary file renamed into place): a failure leaves the old file whole."""
    atomic_write(path, encode(workflow, fmt or format_for(path)))
