"""Which source set each setting, for ``symphony config show --origin`` (as ``git config --show-origin``).

The sources are read again, highest first; a key belongs to the first source
holding it or a table around it (a whole table given as JSON in the
environment, say), and to the defaults when none does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._settings import default_config_file, read_settings_file
from ._output import leaves

__all__ = ["Key", "setting_origins"]

#: A setting's key as its parts: ``("components", "dag", "timeout")``.
Key = tuple[str, ...]

#: Variables that name a file or a secret, not a setting.
_NOT_SETTINGS = ("SYMPHONY_CONFIG", "SYMPHONY_SECRET__")


def setting_origins(
    keys: Iterable[Key],
    *,
    config_file: Path | None,
    overrides: Mapping[str, Any],
    profile: str | None,
    profile_defaults: Mapping[str, Any],
) -> dict[Key, str]:
    """Each key's origin: ``--set``, ``environment SYMPHONY_...``, ``file PATH``, ``profile NAME`` or ``default``."""
    path = config_file if config_file is not None else default_config_file()
    layers = [("--set", _keys(overrides))]
    layers += [(f"environment {name}", {key}) for name, key in _environment()]
    if path is not None:
        layers.append((f"file {path}", _keys(read_settings_file(path))))
    layers.append((f"profile {profile}", _keys(profile_defaults)))
    return {key: _origin(_normal(key), layers) for key in keys}


def _origin(key: Key, layers: list[tuple[str, set[Key]]]) -> str:
    prefixes = {key[:end] for end in range(1, len(key) + 1)}
    return next((label for label, held in layers if prefixes & held), "default")


def _environment() -> list[tuple[str, Key]]:
    found = []
    for name in sorted(os.environ):
        upper = name.upper()
        if upper.startswith("SYMPHONY_") and not upper.startswith(_NOT_SETTINGS):
            found.append((name, _normal(tuple(upper.removeprefix("SYMPHONY_").split("__")))))
    return found


def _keys(tree: Mapping[str, Any]) -> set[Key]:
    return {_normal(key) for key, _ in leaves(tree)}


def _normal(key: Key) -> Key:
    """Environment names are case-insensitive, and an extension name's ``-`` may be written ``_``."""
    return tuple(part.lower().replace("-", "_") for part in key)
