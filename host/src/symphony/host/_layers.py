"""The settings' sources that are read without pydantic: the file, ``--set`` overrides.

Kept apart from ``_settings`` (the pydantic schema) so that a command whose
settings are already validated (see ``_snapshot``) never imports pydantic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from symphony.hookspecs import MAX_CONFIG_BYTES, ConfigurationError, decode_bounded, loads_toml, read_bounded

__all__ = ["CONFIG_NAME", "default_config_file", "merge_overrides", "parse_override", "read_settings_file"]

#: The settings file's name, looked for in the working directory and then each parent.
CONFIG_NAME = "symphony.toml"


def default_config_file() -> Path | None:
    """``$SYMPHONY_CONFIG`` if set, else the nearest ``symphony.toml`` upwards from the working directory.

    As pytest and ruff find their configuration: a command run in a project's
    subdirectory uses the project's settings.
    """
    explicit = os.environ.get("SYMPHONY_CONFIG")
    if explicit:
        return Path(explicit)
    here = Path.cwd()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate if directory != here else Path(CONFIG_NAME)
    return None


def read_settings_file(path: Path) -> dict[str, Any]:
    import tomllib  # here, not at the top: a command whose settings are saved (see _snapshot) parses no TOML

    what = f"Settings file {path}"
    try:
        with path.open("rb") as file:
            data = read_bounded(file, what=what, error=ConfigurationError, limit=MAX_CONFIG_BYTES)
        return decode_bounded(lambda: loads_toml(data.decode("utf-8")), what=what, error=ConfigurationError)
    except OSError as error:
        raise ConfigurationError(f"Cannot read settings file {path}: {error.strerror}.") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{what} is not UTF-8 text; save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{what} is not valid TOML: {error}.") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``--set a.b=value``; the value is read as TOML when it parses, else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigurationError(f"Invalid override {text!r}: expected KEY=VALUE, e.g. hooks.timeout=5.")
    what = f"The value of --set {key.strip()}"
    import tomllib

    try:
        value: Any = decode_bounded(lambda: loads_toml(f"v = {raw}")["v"], what=what, error=ConfigurationError)
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip().split("."), value


def merge_overrides(items: list[str]) -> dict[str, Any]:
    """Nest several ``KEY=VALUE`` overrides into one dictionary."""
    merged: dict[str, Any] = {}
    for item in items:
        parts, value = parse_override(item)
        node = merged
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigurationError(f"Override {item!r} conflicts with another override of {part!r}.")
        node[parts[-1]] = value
    return merged
