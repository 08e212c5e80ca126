"""Text and JSON operators: each a contribution with typed inputs and outputs.

An operator's factory takes the node's ``config`` and returns an async
callable from inputs to outputs (dictionaries keyed by port name).  A bad
config is rejected when the node is built, with the key and what is expected.
"""

from __future__ import annotations

import string
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from symphony.hookspecs import OperatorSpec, PortSpec, ValidationError

Run = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]


def _text(config: Mapping[str, Any], key: str, operator: str) -> str:
    value = config.get(key)
    if not isinstance(value, str):
        raise ValidationError(f"Operator {operator!r} needs config.{key}, a string; got {value!r}.")
    return value


def _placeholders(template: str) -> list[str]:
    """The names in ``{name}`` placeholders; anything fancier (indexes, formats, conversions) is refused."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValidationError(
            f"config.template is not a valid template: {error} (write {{{{ for a literal brace)."
        ) from None
    names = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            written = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise ValidationError(f"Template placeholder {written!r} is not allowed; write plain names like {{title}}.")
        names.append(name)
    return names


def text_template(config: Mapping[str, Any]) -> Run:
    """``{name}`` placeholders filled from the ``values`` object; a value that is not an object fills ``{value}``."""
    template = _text(config, "template", "text-template")
    fields = _placeholders(template)

    async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        values = inputs.get("values")
        if not isinstance(values, Mapping):
            values = {} if values is None else {"value": values}
        missing = [name for name in fields if name not in values]
        if missing:
            have = ", ".join(map(str, values)) or "none"
            raise ValidationError(f"Template needs value(s) {', '.join(missing)}; got {have}.")
        return {"text": template.format_map({name: values[name] for name in fields})}

    return run


def _string_input(inputs: Mapping[str, Any], port: str, operator: str) -> str:
    value = inputs.get(port)
    if not isinstance(value, str):
        raise ValidationError(f"Operator {operator!r} needs input {port!r} as a string; got {type(value).__name__}.")
    return value


def json_parse(config: Mapping[str, Any]) -> Run:
    async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        text = _string_input(inputs, "text", "json-parse")
        import json  # here, not for every command that loads the plugin (~1.5 ms)

        try:
            return {"value": json.loads(text)}
        except json.JSONDecodeError as error:
            raise ValidationError(
                f"Input is not JSON: {error.msg} at line {error.lineno}, column {error.colno}."
            ) from None

    return run


def json_extract(config: Mapping[str, Any]) -> Run:
    """The value at ``config.path`` (dotted keys and list indexes: ``items.0.name``)."""
    path = [part for part in _text(config, "path", "json-extract").split(".") if part]

    async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        value = inputs["value"]
        for depth, part in enumerate(path):
            if isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
                value = value[int(part)]
            elif isinstance(value, dict) and part in value:
                value = value[part]
            else:
                where = ".".join(path[: depth + 1])
                raise ValidationError(f"Path {where!r} does not exist in the input value.")
        return {"value": value}

    return run


#: Seconds one search may take: a pattern that backtracks catastrophically ('(a|aa)+$') must end, not hang
#: the run.  Generous, so that a busy machine does not turn a sound pattern on a long text into an error.
REGEX_TIMEOUT: Final = 10.0
_MAX_REGEX_TIMEOUT: Final = 600.0


def regex_extract(config: Mapping[str, Any]) -> Run:
    """The first match of ``config.pattern``, searched for at most ``config.timeout`` seconds."""
    pattern_text = _text(config, "pattern", "regex-extract")
    timeout = config.get("timeout", REGEX_TIMEOUT)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= _MAX_REGEX_TIMEOUT:
        raise ValidationError(
            f"Operator 'regex-extract' config.timeout must be seconds in (0, {_MAX_REGEX_TIMEOUT:g}]; got {timeout!r}."
        )
    # Imported here: the operators module is imported by every command (the plugin's load), a regex node is rare.
    import regex

    try:
        pattern = regex.compile(pattern_text)
    except regex.error as error:
        raise ValidationError(f"config.pattern is not a valid regular expression: {error}.") from None

    async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        import asyncio

        text = _string_input(inputs, "text", "regex-extract")
        try:  # in a thread, without the GIL: a long search does not stop the event loop or the other nodes
            match = await asyncio.to_thread(pattern.search, text, concurrent=True, timeout=timeout)
        except TimeoutError:
            raise ValidationError(
                f"config.pattern {pattern_text!r} found no answer within {timeout:g} s on a text of {len(text)}"
                " characters: it backtracks too much (nested repetition such as '(a|aa)+'). Write it without"
                " repetition inside repetition, or raise config.timeout."
            ) from None
        if match is None:
            return {"matched": False, "match": "", "groups": []}
        return {"matched": True, "match": match.group(0), "groups": [g or "" for g in match.groups()]}

    return run


def ports(**types: str) -> dict[str, PortSpec]:
    return {name: PortSpec(type=kind.rstrip("?"), required=not kind.endswith("?")) for name, kind in types.items()}


OPERATORS = (
    OperatorSpec(
        name="text-template",
        factory=text_template,
        inputs=ports(values="any?"),
        outputs=ports(text="string"),
        config=ports(template="string"),
        description="Fill config.template's {name} placeholders from the values object (any other value: {value}).",
    ),
    OperatorSpec(
        name="json-parse",
        factory=json_parse,
        inputs=ports(text="string"),
        outputs=ports(value="json"),
        description="Parse JSON text.",
    ),
    OperatorSpec(
        name="json-extract",
        factory=json_extract,
        inputs=ports(value="json"),
        outputs=ports(value="json"),
        config=ports(path="string"),
        description="Take the value at config.path (dotted keys and list indexes).",
    ),
    OperatorSpec(
        name="regex-extract",
        factory=regex_extract,
        inputs=ports(text="string"),
        outputs=ports(matched="boolean", match="string", groups="list[string]"),
        config=ports(pattern="string", timeout="number?"),
        description="Search text with config.pattern; report the match and its groups.",
    ),
)
