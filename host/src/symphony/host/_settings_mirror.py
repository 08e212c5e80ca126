"""The settings' shape in msgspec: validates the usual settings without importing pydantic.

pydantic-settings (``_settings``) stays the source of truth. This mirror only
*accepts* what it is sure pydantic accepts the same way (strict types, the same
bounds, simple ``SYMPHONY_*`` values); anything else, valid or not, returns ``None``
and the caller validates with pydantic, so every error the user sees comes from
pydantic. ``tests/test_settings_mirror.py`` holds the two to the same fields, types,
defaults and values on a corpus of inputs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta, field

from symphony.hookspecs import parse_permission

from ._ports import PORTS

__all__ = ["component_default", "default_cache_dir", "default_data_dir", "validate"]


def default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local/share")) / "symphony"


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "symphony"


class _Section(msgspec.Struct, forbid_unknown_fields=True):
    pass


class Retry(_Section):
    max_attempts: Annotated[int, Meta(ge=1, le=100)] = 3
    backoff_initial: Annotated[float, Meta(ge=0)] = 0.1
    backoff_multiplier: Annotated[float, Meta(ge=1)] = 2.0
    backoff_max: Annotated[float, Meta(ge=0)] = 10.0


class Component(_Section):
    enabled: bool = True
    timeout: Annotated[float, Meta(gt=0)] = 30.0
    retry_policy: Retry = field(default_factory=Retry)
    metrics_enabled: bool = False
    options: dict[str, Any] = {}


class Plugins(_Section):
    enable: list[str] | None = None
    block: list[str] = []
    priority: dict[str, int] = {}
    index_cache: bool = True


class Hooks(_Section):
    timeout: Annotated[float, Meta(gt=0)] = 30.0
    profile: bool = False


class Sandbox(_Section):
    policy: Literal["strict", "standard", "permissive"] = "standard"
    runtimes: list[Literal["python", "subprocess", "wasm", "mcp"]] = field(
        default_factory=lambda: ["subprocess", "wasm", "mcp"]
    )


class Permissions(_Section):
    database: Path | None = None
    trusted: list[str] = []
    deny: list[str] = []
    audit_flush_interval: Annotated[float, Meta(gt=0, le=60)] = 0.5


class Extensions(_Section):
    index_cache: bool = True
    config: dict[str, dict[str, Any]] = {}
    secrets_file: Path | None = None


class Settings(_Section):
    distro: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    cache_dir: Path = field(default_factory=default_cache_dir)
    plugins: Plugins = field(default_factory=Plugins)
    hooks: Hooks = field(default_factory=Hooks)
    ports: dict[str, str] = {}
    components: dict[str, Component] = {}
    sandbox: Sandbox = field(default_factory=Sandbox)
    extensions: Extensions = field(default_factory=Extensions)
    permissions: Permissions = field(default_factory=Permissions)


class _Reject(Exception):
    """The mirror is not sure: pydantic decides."""


_PREFIX: Final = "symphony_"
_NUMBER: Final = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?")
# pydantic's words for booleans (any case).
_BOOLEANS: Final = {"1": True, "on": True, "t": True, "true": True, "y": True, "yes": True} | {
    "0": False,
    "off": False,
    "f": False,
    "false": False,
    "n": False,
    "no": False,
}
_SECTIONS: Final[dict[str, type[msgspec.Struct]]] = {
    "plugins": Plugins,
    "hooks": Hooks,
    "sandbox": Sandbox,
    "extensions": Extensions,
    "permissions": Permissions,
}


def validate(
    from_file: Mapping[str, Any], overrides: Mapping[str, Any], profile_defaults: Mapping[str, Any]
) -> dict[str, Any] | None:
    """``Settings(...).model_dump()`` for these sources and the environment, or ``None`` when pydantic must decide."""
    try:
        merged = _deep_update(dict(profile_defaults), from_file, _environment(), overrides)
        settings = msgspec.convert(merged, Settings, strict=True, dec_hook=_path)
        _check(settings)
    except (_Reject, msgspec.ValidationError):
        return None
    return _fields(settings)


def component_default() -> dict[str, Any]:
    """``ComponentSettings().model_dump()``."""
    return _fields(Component())


def _environment() -> dict[str, Any]:
    """The ``SYMPHONY_*`` values pydantic-settings reads, typed; only the simple forms (else :class:`_Reject`)."""
    values: dict[str, Any] = {}
    seen: set[str] = set()
    for raw_name, text in os.environ.items():
        name = raw_name.lower()
        if not name.startswith(_PREFIX):
            continue
        name = name.removeprefix(_PREFIX)
        if name in seen:  # two spellings of one variable: which wins is pydantic-settings' business
            raise _Reject
        seen.add(name)
        section, nested, key = name.partition("__")
        if not nested:
            if name in ("distro", "data_dir", "cache_dir"):  # text, as in the file (the Struct reads a path)
                values[name] = text
            elif name in Settings.__struct_fields__:  # a table or list given as JSON
                raise _Reject
            continue  # not a setting (SYMPHONY_CONFIG): pydantic-settings ignores it too
        model = _SECTIONS.get(section)
        if model is None or key not in model.__struct_fields__:
            raise _Reject
        values.setdefault(section, {})[key] = _scalar(model.__annotations__[key], text)
    return values


def _scalar(annotation: str, text: str) -> Any:
    """An environment value for a field of this (stringified) annotation, as pydantic reads it."""
    if annotation.startswith("Annotated[float") and _NUMBER.fullmatch(text):
        return float(text)
    if annotation == "bool" and text.lower() in _BOOLEANS:
        return _BOOLEANS[text.lower()]
    if annotation == "Path | None" or annotation.startswith("Literal["):
        return text  # the Struct reads the path, checks the choices
    raise _Reject


def _path(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str) and value:
        return Path(value)
    raise _Reject


def _check(settings: Settings) -> None:
    """The validators ``_settings.Settings`` adds to the types."""
    if not set(settings.ports) <= set(PORTS):
        raise _Reject
    for entry in settings.permissions.deny:
        if entry not in ("file", "network", "system", "model"):
            try:
                parse_permission(entry)
            except ValueError:
                raise _Reject from None


def _deep_update(base: dict[str, Any], *updates: Mapping[str, Any]) -> dict[str, Any]:
    """pydantic-settings' merge of its sources: tables merge key by key, anything else replaces."""
    for update in updates:
        for key, value in update.items():
            current = base.get(key)
            if isinstance(current, dict) and isinstance(value, dict):
                base[key] = _deep_update(dict(current), value)
            else:
                base[key] = value
    return base


def _fields(struct: msgspec.Struct) -> dict[str, Any]:
    return {name: _dump(getattr(struct, name)) for name in struct.__struct_fields__}


def _dump(value: Any) -> Any:
    if isinstance(value, msgspec.Struct):
        return _fields(value)
    if isinstance(value, dict):
        return {key: _dump(item) for key, item in value.items()}
    return value
