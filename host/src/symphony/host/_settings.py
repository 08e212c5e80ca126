"""Settings: defaults < distribution profile < TOML file < ``SYMPHONY_*`` env < CLI overrides.

The source of truth; ``_settings_mirror`` is its shape in msgspec, for the usual case without pydantic.

One section per component follows the seed's ComponentConfig.  Anything
invalid fails fast with a ConfigurationError naming the key, the value and
what is allowed.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from symphony.hookspecs import ComponentConfig, ConfigurationError, RetryPolicy, decode_bounded, parse_permission

from ._layers import CONFIG_NAME, default_config_file, merge_overrides, parse_override, read_settings_file
from ._ports import PORTS
from ._settings_mirror import default_cache_dir, default_data_dir

__all__ = [
    "CONFIG_NAME",
    "ComponentSettings",
    "Settings",
    "default_config_file",
    "load_settings",
    "merge_overrides",
    "parse_override",
    "read_settings_file",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetrySettings(_Section):
    max_attempts: int = Field(3, ge=1, le=100)
    backoff_initial: float = Field(0.1, ge=0)
    backoff_multiplier: float = Field(2.0, ge=1)
    backoff_max: float = Field(10.0, ge=0)


class ComponentSettings(_Section):
    """The seed's ComponentConfig; ``options`` holds the component's own keys."""

    enabled: bool = True
    timeout: float = Field(30.0, gt=0)
    retry_policy: RetrySettings = RetrySettings()
    metrics_enabled: bool = False
    options: dict[str, Any] = {}

    def to_config(self) -> ComponentConfig:
        return ComponentConfig(
            enabled=self.enabled,
            timeout=self.timeout,
            retry_policy=RetryPolicy(**self.retry_policy.model_dump()),
            metrics_enabled=self.metrics_enabled,
            options=dict(self.options),
        )


class PluginSettings(_Section):
    #: When set, only these plugins (by name) are loaded; essential ones always are.
    enable: list[str] | None = None
    #: Plugins never loaded (not even imported).
    block: list[str] = []
    #: Higher registers later and is called earlier; default 0, builtins -100.
    priority: dict[str, int] = {}
    #: Keep the entry-point index between runs (see ``symphony plugins reindex``).
    index_cache: bool = True


class HookSettings(_Section):
    #: Seconds an async hook call may take before its plugin is reported as timed out.
    timeout: float = Field(30.0, gt=0)
    #: Record time spent per plugin and hook (``symphony plugins profile``).
    profile: bool = False


class SandboxSettings(_Section):
    """What untrusted extensions may be run as; the distribution profile usually sets it."""

    policy: Literal["strict", "standard", "permissive"] = "standard"
    runtimes: list[Literal["python", "subprocess", "wasm", "mcp"]] = ["subprocess", "wasm", "mcp"]


class PermissionSettings(_Section):
    """The user's side of the permission policy (the distribution's side is ``DistroProfile.permissions``)."""

    #: The host's own grants and audit file, used when no plugin provides port ``permission_records``;
    #: unset means ``<data_dir>/permissions.db``.
    database: Path | None = None
    #: Extensions the user trusts (they get what they declare), if the profile allows user trust.
    trusted: list[str] = []
    #: Categories or permission texts denied on top of the profile's denials.
    deny: list[str] = []
    #: Seconds an allowed decision may wait in memory before it is written (denials are written at once).
    audit_flush_interval: float = Field(0.5, gt=0, le=60)

    @pydantic.field_validator("deny")
    @classmethod
    def _valid_denials(cls, deny: list[str]) -> list[str]:
        for entry in deny:
            if entry not in ("file", "network", "system", "model"):
                parse_permission(entry)  # PermissionSyntaxError is a ValueError: reported with the key
        return deny


class ExtensionSettings(_Section):
    """Extensions: the manifest index, per-extension configuration, where secrets live."""

    #: Keep parsed manifests between runs (see docs/extensions.md, "The manifest index").
    index_cache: bool = True
    #: extension name -> its configuration values, checked against its [configuration].
    config: dict[str, dict[str, Any]] = {}
    #: TOML file of secrets by extension; unset means $XDG_CONFIG_HOME/symphony/secrets.toml.
    secrets_file: Path | None = None


class _BoundedEnvironment(EnvSettingsSource):
    """``SYMPHONY_*`` values given as JSON, bounded in depth like every other document."""

    def decode_complex_value(self, field_name: str, field: Any, value: Any) -> Any:
        decode = super().decode_complex_value
        what = f"The SYMPHONY_* environment value of `{field_name}`"
        return decode_bounded(lambda: decode(field_name, field, value), what=what, error=ConfigurationError)


class Settings(BaseSettings):
    """All host settings.  See ``docs/configuration.md`` for every key."""

    model_config = SettingsConfigDict(
        env_prefix="SYMPHONY_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    #: Name of the distribution profile; unset means "the only one installed, if any".
    distro: str | None = None
    # Read from the environment when validated, as the settings snapshot's stamp assumes.
    data_dir: Path = Field(default_factory=default_data_dir)
    cache_dir: Path = Field(default_factory=default_cache_dir)
    plugins: PluginSettings = PluginSettings()
    hooks: HookSettings = HookSettings()
    #: port name -> plugin name chosen to provide it, overriding priority.
    ports: dict[str, str] = {}
    components: dict[str, ComponentSettings] = {}
    sandbox: SandboxSettings = SandboxSettings()
    extensions: ExtensionSettings = ExtensionSettings()
    permissions: PermissionSettings = PermissionSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first; load_settings supplies the lower layers.
        lower = [InitSettingsSource(settings_cls, init_kwargs=dict(layer)) for layer in _lower_layers.get()]
        return (init_settings, _BoundedEnvironment(settings_cls), *lower)

    @pydantic.field_validator("ports")
    @classmethod
    def _known_ports(cls, ports: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(ports) - set(PORTS))
        if unknown:
            raise ValueError(f"unknown port(s) {', '.join(unknown)}; ports are: {', '.join(PORTS)}")
        return ports

    def component(self, name: str) -> ComponentSettings:
        return self.components.get(name) or ComponentSettings()


# The settings file's and the profile's values, highest first, for the source
# hook above: pydantic-settings has no per-call argument for extra sources.
_lower_layers: ContextVar[tuple[Mapping[str, Any], ...]] = ContextVar("_lower_layers", default=())


def load_settings(
    *,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    profile_defaults: Mapping[str, Any] | None = None,
) -> Settings:
    """Build and validate settings from every source; see the module docstring."""
    path = config_file if config_file is not None else default_config_file()
    from_file = read_settings_file(path) if path is not None else {}
    token = _lower_layers.set((from_file, profile_defaults or {}))
    try:
        return Settings(**(overrides or {}))
    except pydantic.ValidationError as error:
        raise ConfigurationError(_describe(error, path)) from None
    except SettingsError as error:  # a SYMPHONY_* value for a table or list that is not JSON
        field = re.search(r'field "([^"]+)"', str(error))
        raise ConfigurationError(
            f"The SYMPHONY_* environment value of `{field[1] if field else 'a setting'}` is not valid JSON;"
            """ give a table or list as JSON, e.g. SYMPHONY_COMPONENTS__NAME__OPTIONS='{"key": 1}'."""
        ) from None
    finally:
        _lower_layers.reset(token)


def _describe(error: pydantic.ValidationError, path: Path | None) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        value = item.get("input")
        if item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(item["loc"][-1]), _known_keys(item["loc"]), n=1)
            parent = key.rpartition(".")[0]
            if close:
                lines.append(f"Unknown setting `{key}`; did you mean `{parent + '.' if parent else ''}{close[0]}`?")
            else:
                lines.append(f"Unknown setting `{key}`; check its spelling against docs/configuration.md.")
        else:
            lines.append(f"Invalid setting `{key}` = {value!r}: {item['msg']}.")
    where = f" (sources: defaults, profile, {path or 'no settings file'}, SYMPHONY_* environment, --set)"
    return "\n".join(lines) + where


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys valid beside the last part of ``loc``: the fields of the model it lands in."""
    model: type[BaseModel] = Settings
    parts = [str(part) for part in loc[:-1]]
    while parts:
        field = model.model_fields.get(parts.pop(0))
        annotation = field.annotation if field is not None else None
        if typing.get_origin(annotation) is dict:  # components.<name>: skip the user's name
            annotation = typing.get_args(annotation)[1]
            if not parts:
                return []
            parts.pop(0)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
