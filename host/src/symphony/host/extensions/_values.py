"""Whether a configuration value fits its ``[configuration]`` field, said as expected/found.

Shared by the manifest checker (a field's ``default`` must fit) and by
configuration resolution (the user's value must fit).  Secret values are never
quoted back: ``found`` then names only the value's type.
"""

from __future__ import annotations

import tomllib
from typing import Any

from symphony.hookspecs import ConfigField, ConfigurationError, decode_bounded, loads_toml

__all__ = ["coerce_text", "describe", "toml_type", "value_problem"]

_TOML_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "float",
    str: "string",
    list: "array",
    tuple: "array",
    dict: "table",
}

_WANTED = {
    "string": "a string",
    "integer": "an integer",
    "float": "a number",
    "boolean": "true or false",
    "list": "an array",
    "table": "a table",
}


def toml_type(value: Any) -> str:
    """The TOML name of a value's type (``integer``, ``table``...)."""
    for cls, name in _TOML_TYPES.items():
        if isinstance(value, cls):
            return name
    return type(value).__name__


def describe(value: Any, *, secret: bool = False) -> str:
    """How a found value is shown in a message: its TOML type and, unless secret, the value itself."""
    if secret:
        return f"a {toml_type(value)} (value hidden: secret)"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{toml_type(value)} {text}"


def _type_fits(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, int | float)
    if kind == "string":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list | tuple)
    return isinstance(value, dict)


def _bounds(spec: ConfigField) -> str:
    low = "" if spec.min is None else f">= {spec.min:g}"
    high = "" if spec.max is None else f"<= {spec.max:g}"
    return " and ".join(part for part in (low, high) if part)


def value_problem(spec: ConfigField, value: Any) -> tuple[str, str] | None:
    """``(expected, found)`` if ``value`` does not fit ``spec``, else None."""
    found = describe(value, secret=spec.secret)
    if not _type_fits(spec.type, value):
        return _WANTED[spec.type], found
    if spec.choices is not None and value not in spec.choices:
        return f"one of {', '.join(repr(c) for c in spec.choices)}", found
    if spec.min is None and spec.max is None:
        return None
    if spec.type in ("integer", "float"):
        measure, what = float(value), f"{_WANTED[spec.type]} {_bounds(spec)}"
    elif spec.type in ("string", "list"):
        measure, what = float(len(value)), f"{_WANTED[spec.type]} of length {_bounds(spec)}"
        found = f"{found} (length {len(value)})" if not spec.secret else f"{found} of length {len(value)}"
    else:
        return None
    if (spec.min is not None and measure < spec.min) or (spec.max is not None and measure > spec.max):
        return what, found
    return None


def coerce_text(spec: ConfigField, value: Any) -> Any:
    """A value given as text (an environment variable) read as a TOML literal when the field is not a string."""
    if not isinstance(value, str) or spec.type == "string":
        return value
    what = "An extension setting given as text"
    try:
        return decode_bounded(lambda: loads_toml(f"v = {value}")["v"], what=what, error=ConfigurationError)
    except tomllib.TOMLDecodeError:
        return value
