"""An extension's configuration, validated against its ``[configuration]`` schema before it runs.

Values come from the settings (``[extensions.config.<name>]`` in symphony.toml,
``SYMPHONY_EXTENSIONS__CONFIG__<NAME>__<FIELD>``, ``--set``); defaults fill the
rest.  Secret fields come only from the environment
(``SYMPHONY_SECRET__<NAME>__<FIELD>``, the name upper-cased with ``-`` as
``_``) or the secrets file (TOML, ``[<name>] field = "..."``, readable by its
owner alone), and are handed over wrapped in :class:`Secret` so that printing,
logging or serialising the result never shows them.  Errors name the
extension and the field and never quote a secret.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from symphony.hookspecs import (
    MAX_CONFIG_BYTES,
    ConfigurationError,
    Manifest,
    Secret,
    decode_bounded,
    loads_toml,
    read_bounded,
)

from ._values import coerce_text, value_problem

__all__ = [
    "SECRET_ENV_PREFIX",
    "default_secrets_file",
    "read_secrets_file",
    "resolve_configuration",
    "secret_env_name",
    "settings_values",
]

SECRET_ENV_PREFIX: Final = "SYMPHONY_SECRET__"


def secret_env_name(extension: str, field: str) -> str:
    """The environment variable holding ``field`` of ``extension``: ``SYMPHONY_SECRET__MY_EXT__API_KEY``."""
    return f"{SECRET_ENV_PREFIX}{extension.upper().replace('-', '_')}__{field.upper()}"


def default_secrets_file() -> Path:
    """``$XDG_CONFIG_HOME/symphony/secrets.toml`` (``~/.config/symphony/secrets.toml``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "symphony" / "secrets.toml"


def read_secrets_file(path: Path) -> dict[str, dict[str, Any]]:
    """The secrets file's tables by extension name; refused if group or others may read or write it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigurationError(f"Cannot read secrets file {path}: {error.strerror}.") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"Secrets file {path} is accessible by group or others (mode {stat.S_IMODE(mode):o});"
            f" make it private with: chmod 600 {path}"
        )
    what = f"Secrets file {path}"
    try:
        with path.open("rb") as file:
            text = read_bounded(file, what=what, error=ConfigurationError, limit=MAX_CONFIG_BYTES).decode("utf-8")
        data = decode_bounded(lambda: loads_toml(text), what=what, error=ConfigurationError)
    except UnicodeDecodeError:
        raise ConfigurationError(f"{what} is not UTF-8 text; save it as UTF-8.") from None
    except OSError as error:
        raise ConfigurationError(f"Cannot read secrets file {path}: {error.strerror}.") from None
    except tomllib.TOMLDecodeError as error:
        # The parser's message quotes no values, only the position.
        raise ConfigurationError(f"Secrets file {path} is not valid TOML: {error}.") from None
    return {name: table for name, table in data.items() if isinstance(table, dict)}


def settings_values(config: Mapping[str, Mapping[str, Any]], extension: str) -> dict[str, Any]:
    """The settings' values for ``extension``; ``my_ext`` is accepted for ``my-ext`` (environment variables)."""
    values: dict[str, Any] = {}
    for name, table in config.items():
        if name.replace("_", "-").lower() == extension:
            values.update({key.lower(): value for key, value in table.items()})
    return values


def resolve_configuration(
    manifest: Manifest,
    values: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    secrets_file: Path | None = None,
) -> dict[str, Any]:
    """The extension's configuration: ``values`` checked, defaults filled, secrets wrapped.

    Raises ConfigurationError listing every problem, naming the extension and each field.
    """
    name = manifest.name
    environ = os.environ if environ is None else environ
    schema = manifest.configuration
    problems: list[str] = []
    resolved: dict[str, Any] = {}
    for key in values:
        if key not in schema:
            known = ", ".join(schema) or "none"
            problems.append(f"`{key}`: not a configuration field of {name} (its fields: {known}); remove it.")
        elif schema[key].secret:
            problems.append(
                f"`{key}` is secret and may not be set in the settings (value not shown); set"
                f" {secret_env_name(name, key)} or put it in the secrets file, then remove it from the settings."
            )
    file_secrets: dict[str, Any] | None = None
    for field, spec in schema.items():
        if spec.secret:
            value: Any = environ.get(secret_env_name(name, field))
            if value is None:
                if file_secrets is None:
                    path = secrets_file or default_secrets_file()
                    file_secrets = read_secrets_file(path).get(name, {})
                value = file_secrets.get(field)
            where = f"set {secret_env_name(name, field)} or add {field} under [{name}] in the secrets file"
        else:
            value = coerce_text(spec, values[field]) if field in values else spec.default
            where = f"set it in [extensions.config.{name}] of symphony.toml"
        if value is None:
            if spec.required:
                problems.append(f"`{field}`: required ({spec.type}) but not given; {where}.")
            continue
        if wrong := value_problem(spec, value):
            expected, found = wrong
            problems.append(f"`{field}`: expected {expected}, got {found}; {where}.")
            continue
        resolved[field] = Secret(value) if spec.secret else value
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise ConfigurationError(f"Extension {name!r} is not configured correctly:\n{lines}")
    return resolved
