"""JSON Schema to workflow ports and back: how MCP tools and Symphony workflows describe each other.

An MCP tool declares its arguments (and maybe its structured result) as a JSON
Schema object; a workflow node has typed ports in the workflow type language
(``PORT_TYPES`` and ``list[T]``).  The language is much smaller than JSON
Schema, so the conversion keeps the type and says what it could not keep:
each note names the property and what became of it, for the person who
reviews the manifest.  Constraints (``enum``, ``minimum``, ``pattern``...)
are not types and pass silently; the server still checks them.

The schemas come from servers that are not trusted: ``$ref`` is followed only
inside the document, cycles and nesting deeper than :data:`MAX_DEPTH` become
``json``, and nothing here raises on a malformed schema.  Nor does a schema
cost more than :data:`MAX_SCHEMAS` subschemas' work: references branching
through ``anyOf`` would otherwise make a small document take exponential time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from ._contributions import PortSpec
from ._manifest import PORT_TYPES

__all__ = [
    "MAX_DEPTH",
    "MAX_SCHEMAS",
    "SYMPHONY_TYPE_KEY",
    "json_schema_from_ports",
    "port_type_from_json_schema",
    "ports_from_json_schema",
]

#: Nesting (arrays, references, combinators) followed before a schema is typed ``json``.
MAX_DEPTH: Final = 32
#: Subschemas typed per document at most (a real tool's schema has tens); beyond, each is typed ``json``.
MAX_SCHEMAS: Final = 10_000
#: The annotation a schema written here carries when JSON Schema alone cannot say its type (``any``, or a
#: plugin's own type name); other tools ignore unknown keywords, and reading it back restores the type.
SYMPHONY_TYPE_KEY: Final = "x-symphony-type"

_PORT_NAME: Final = re.compile(r"^[A-Za-z_]\w*$")
_SCALAR_TYPES: Final = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
_NOT_TYPES: Final = ("not", "if", "then", "else", "dependentSchemas", "patternProperties")


def ports_from_json_schema(schema: Any) -> tuple[dict[str, PortSpec], tuple[str, ...]]:
    """The ports an object schema's properties make, and notes of what could not be converted.

    A property becomes a port of the same name, required when the schema's
    ``required`` lists it; a name that cannot be a port (letters, digits and
    underscores) is left out with a note.  A schema that is not an object
    schema makes no ports and one note.
    """
    notes: list[str] = []
    if not isinstance(schema, Mapping):
        return {}, (f"the schema is {_kind(schema)}, not an object schema; no ports",)
    root = _Converter(schema, notes)
    resolved = root.resolve(schema)
    declared = resolved.get("type")
    if declared not in (None, "object") or not isinstance(resolved.get("properties", {}), Mapping):
        return {}, (f"the schema describes {declared!r} values, not an object with properties; no ports",)
    for keyword in ("anyOf", "oneOf", "allOf", *_NOT_TYPES):
        if keyword in resolved:
            notes.append(f"the schema's {keyword} is not in the workflow type language; only its properties are ports")
    extra = resolved.get("additionalProperties")
    if isinstance(extra, Mapping) and extra:
        notes.append("additional properties are accepted by the tool but are not ports")
    required = resolved.get("required", ())
    required = set(required) if isinstance(required, list | tuple) else set()
    ports: dict[str, PortSpec] = {}
    for name, item in resolved.get("properties", {}).items():
        where = f"property {name!r}"
        if not isinstance(name, str) or _PORT_NAME.match(name) is None:
            hint = "; the tool cannot be called without it" if name in required else ""
            notes.append(f"{where}: not a port name (letters, digits and underscores); left out{hint}")
            continue
        port_type = root.type_of(item, where, 1)
        description = _description(item)
        ports[name] = PortSpec(type=port_type, required=name in required, description=description)
    return ports, tuple(notes)


def port_type_from_json_schema(schema: Any, where: str = "the schema") -> tuple[str, tuple[str, ...]]:
    """One schema's type in the workflow type language, with notes; ``where`` names it in the notes."""
    notes: list[str] = []
    root = schema if isinstance(schema, Mapping) else {}
    return _Converter(root, notes).type_of(schema, where, 0), tuple(notes)


def json_schema_from_ports(ports: Mapping[str, PortSpec]) -> dict[str, Any]:
    """An object schema whose properties are ``ports`` (what an MCP tool's inputSchema needs).

    ``ports_from_json_schema`` gives the same ports back for every type of the
    language, ``any`` included (through :data:`SYMPHONY_TYPE_KEY`).
    """
    properties: dict[str, Any] = {}
    for name, spec in ports.items():
        item = _schema_of(spec.type)
        if spec.description:
            item["description"] = spec.description
        properties[name] = item
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [name for name, spec in ports.items() if spec.required]
    if required:
        schema["required"] = required
    return schema


def _schema_of(type_name: str) -> dict[str, Any]:
    name = type_name.strip()
    if name.startswith("list[") and name.endswith("]"):
        return {"type": "array", "items": _schema_of(name[5:-1])}
    if name in _SCALAR_TYPES or name == "object":
        return {"type": name}
    if name == "json":
        return {}
    if name == "bytes":
        return {"type": "string", "contentEncoding": "base64"}
    return {SYMPHONY_TYPE_KEY: name}


def _in_language(name: str) -> bool:
    name = name.strip()
    while name.startswith("list[") and name.endswith("]"):
        name = name[5:-1].strip()
    return name in PORT_TYPES


def _kind(value: Any) -> str:
    return {bool: "a boolean", list: "an array", str: "a string", type(None): "null"}.get(type(value), "not an object")


def _description(item: Any) -> str:
    if not isinstance(item, Mapping):
        return ""
    text = item.get("description") or item.get("title") or ""
    return text if isinstance(text, str) else ""


class _Converter:
    """Types the schemas of one document: its ``$ref`` targets and notes are shared."""

    def __init__(self, root: Mapping[str, Any], notes: list[str], visits: list[int] | None = None) -> None:
        self._root = root
        self._notes = notes
        #: Subschemas typed so far, shared with the converters of alternatives (one budget per document).
        self._visits = [0] if visits is None else visits

    def note(self, where: str, what: str) -> str:
        self._notes.append(f"{where}: {what}; typed as json")
        return "json"

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """Follow ``$ref`` chains inside the document; an unresolvable one is left for the caller to note."""
        seen: set[str] = set()
        while isinstance(ref := schema.get("$ref"), str) and ref not in seen and len(seen) < MAX_DEPTH:
            seen.add(ref)
            target = self._pointer(ref)
            if target is None:
                return schema
            schema = target
        return schema

    def _pointer(self, ref: str) -> Mapping[str, Any] | None:
        if not ref.startswith("#"):
            return None
        node: Any = self._root
        for escaped in ref[1:].split("/")[1:]:
            part = escaped.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node if isinstance(node, Mapping) else None

    def type_of(self, schema: Any, where: str, depth: int) -> str:
        self._visits[0] += 1
        if self._visits[0] > MAX_SCHEMAS:
            return self.note(where, f"the document has more than {MAX_SCHEMAS} subschemas to type")
        if schema is True or (isinstance(schema, Mapping) and not schema):
            return "json"
        if not isinstance(schema, Mapping):
            return self.note(where, f"the schema is {_kind(schema)}")
        if depth > MAX_DEPTH:
            return self.note(where, f"nested deeper than {MAX_DEPTH} levels")
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = self.resolve(schema)
            if target is schema:
                return self.note(where, f"$ref {ref!r} does not resolve inside the schema")
            return self.type_of(target, where, depth + 1)
        marked = schema.get(SYMPHONY_TYPE_KEY)
        if isinstance(marked, str):
            if _in_language(marked):
                return marked.strip()
            self.note(where, f"{SYMPHONY_TYPE_KEY} {marked!r} is not a workflow type")
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                return self._alternatives(schema[keyword], keyword, where, depth)
        if "allOf" in schema:
            parts = schema["allOf"]
            if isinstance(parts, list) and len(parts) == 1:
                return self.type_of(parts[0], where, depth + 1)
            return self.note(where, "allOf of several schemas is not in the workflow type language")
        if "const" in schema:
            return self._literal_type([schema["const"]], where)
        declared = schema.get("type")
        if declared is None and isinstance(schema.get("enum"), list):
            return self._literal_type(schema["enum"], where)
        if isinstance(declared, list):
            return self._type_list(schema, declared, where, depth)
        return self._single(schema, declared, where, depth)

    def _single(self, schema: Mapping[str, Any], declared: Any, where: str, depth: int) -> str:
        if declared is None:
            return "object" if "properties" in schema else "json"
        if declared in _SCALAR_TYPES:
            base64 = declared == "string" and schema.get("contentEncoding") == "base64"
            return "bytes" if base64 else _SCALAR_TYPES[declared]
        if declared == "object":
            return "object"
        if declared == "array":
            items = schema.get("items", {})
            if isinstance(items, list) or "prefixItems" in schema:
                return f"list[{self.note(where + ' items', 'a tuple of positional schemas')}]"
            return f"list[{self.type_of(items, where + ' items', depth + 1)}]"
        if declared == "null":
            return self.note(where, "null is not a workflow type")
        return self.note(where, f"unknown JSON type {declared!r}")

    def _type_list(self, schema: Mapping[str, Any], declared: list[Any], where: str, depth: int) -> str:
        kinds = [kind for kind in declared if kind != "null"]
        if len(kinds) == 1:
            return self._single(schema, kinds[0], where, depth)
        if set(kinds) == {"integer", "number"}:
            return "number"
        return self.note(where, f"one of the types {declared!r} is not in the workflow type language")

    def _alternatives(self, options: Any, keyword: str, where: str, depth: int) -> str:
        if not isinstance(options, list) or not options:
            return self.note(where, f"{keyword} is not a list of schemas")
        present = [item for item in options if not (isinstance(item, Mapping) and item.get("type") == "null")]
        scratch: list[str] = []
        types = {_Converter(self._root, scratch, self._visits).type_of(item, where, depth + 1) for item in present}
        if len(types) == 1 and not scratch:
            return types.pop()
        if types == {"integer", "number"} and not scratch:
            return "number"
        return self.note(where, f"{keyword} of different types is not in the workflow type language")

    def _literal_type(self, values: list[Any], where: str) -> str:
        names = {_literal_name(value) for value in values if value is not None}
        if names == {"integer", "number"}:
            return "number"
        if len(names) == 1 and None not in names:
            return str(names.pop())
        return self.note(where, "an enum or const of mixed types is not in the workflow type language")


def _literal_name(value: Any) -> str | None:
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (dict, "object")):
        if isinstance(value, kind):
            return name
    return None
