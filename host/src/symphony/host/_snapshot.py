"""Validated settings kept between runs, so that loading the host does not import pydantic.

pydantic-settings stays the source of truth: on a miss the settings are validated by
its msgspec mirror (``_settings_mirror``) when that is sure of the answer, else built and
validated as always (``load_settings``), and their values are saved with a stamp of
everything they were read from: the settings file (path, size, times), every
``SYMPHONY_*`` variable and those the defaults depend on, the ``--set`` overrides, the
profile's defaults and the schema's own source files.  On a hit the host reads a
:class:`SettingsView` of them; the pydantic ``Settings`` object is built from the same
values only when someone asks for it (``Host.settings``).

Values that would not survive the round trip exactly are never saved: those
settings are validated every time, as before.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys

# hashlib's blake2b itself: importing hashlib loads OpenSSL (~3 ms of every command).
from _blake2 import blake2b
from _thread import get_ident
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec

from symphony.hookspecs import ComponentConfig, RetryPolicy

from . import _settings_mirror
from ._layers import default_config_file, read_settings_file

if TYPE_CHECKING:
    from ._settings import Settings

__all__ = ["ComponentView", "SettingsView", "load_view", "snapshot_file"]

_FORMAT: Final = 2
#: Settings kept by stamp in the snapshot file.
_KEPT: Final = 8
#: Variables the defaults are computed from (``data_dir``, ``cache_dir``), besides every ``SYMPHONY_*``.
_DEFAULTS_ENV: Final = ("HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")
#: The schema: when one of these files changes, every snapshot is stale.
_SCHEMA_FILES: Final = ("_settings.py", "_settings_mirror.py", "_layers.py", "_ports.py", "_snapshot.py")


class RetryView(msgspec.Struct, frozen=True):
    max_attempts: int
    backoff_initial: float
    backoff_multiplier: float
    backoff_max: float


class ComponentView(msgspec.Struct, frozen=True):
    """A ``[components.<name>]`` section as ``ComponentSettings`` validated it."""

    enabled: bool
    timeout: float
    retry_policy: RetryView
    metrics_enabled: bool
    options: dict[str, Any]

    def to_config(self) -> ComponentConfig:
        return ComponentConfig(
            enabled=self.enabled,
            timeout=self.timeout,
            retry_policy=RetryPolicy(**msgspec.structs.asdict(self.retry_policy)),
            metrics_enabled=self.metrics_enabled,
            options=dict(self.options),
        )


class PluginsView(msgspec.Struct, frozen=True):
    enable: list[str] | None
    block: list[str]
    priority: dict[str, int]
    index_cache: bool


class HooksView(msgspec.Struct, frozen=True):
    timeout: float
    profile: bool


class _Sections(msgspec.Struct, frozen=True):
    """The settings the host reads while loading; the other sections stay in the saved values."""

    distro: str | None
    data_dir: str
    cache_dir: str
    plugins: PluginsView
    hooks: HooksView
    ports: dict[str, str]
    components: dict[str, ComponentView]


class _Entry(msgspec.Struct, frozen=True):
    values: dict[str, Any]
    component_default: dict[str, Any]


class _Snapshot(msgspec.Struct, frozen=True):
    """The last :data:`_KEPT` validated settings by stamp, oldest first.

    More than one: a host with a distribution profile validates twice (without the profile's
    defaults, to read ``distro``, then with them), and commands run in several projects.
    """

    format: int
    entries: dict[str, _Entry]


class SettingsView:
    """What the host reads of validated settings, without pydantic; :meth:`full` is the ``Settings`` object."""

    def __init__(self, values: dict[str, Any], component_default: dict[str, Any], full: Settings | None = None) -> None:
        sections = msgspec.convert(_plain(values), _Sections)
        self.distro = sections.distro
        self.data_dir = Path(sections.data_dir)
        self.cache_dir = Path(sections.cache_dir)
        self.plugins = sections.plugins
        self.hooks = sections.hooks
        self.ports = sections.ports
        self.components = sections.components
        self._component_default = msgspec.convert(_plain(component_default), ComponentView)
        self._values = values
        self._component_values = component_default
        self._full = full

    @classmethod
    def of(cls, settings: Settings) -> SettingsView:
        from ._settings import ComponentSettings

        return cls(_dump(settings), _dump(ComponentSettings()), settings)

    def component(self, name: str) -> ComponentView:
        return self.components.get(name) or self._component_default

    def full(self) -> Settings:
        """The pydantic ``Settings`` these values were validated as (built on first use)."""
        if self._full is None:
            from ._settings import Settings

            self._full = Settings.model_validate(self._values)
        return self._full


def _dump(model: Any) -> dict[str, Any]:
    values: dict[str, Any] = model.model_dump(mode="python")
    return values


def _plain(values: dict[str, Any]) -> Any:
    """Paths as text, everything else (TOML's dates and times too) as it is."""
    return msgspec.to_builtins(
        values, builtin_types=(datetime.datetime, datetime.date, datetime.time), enc_hook=_encode_hook
    )


def _encode_hook(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    raise NotImplementedError(f"cannot save {type(value).__name__}")


_encoder = msgspec.msgpack.Encoder(enc_hook=_encode_hook)
_decoder = msgspec.msgpack.Decoder(_Snapshot)


def snapshot_file() -> Path:
    """Where the snapshot is kept: the default cache directory, as the environment sets it.

    It cannot be the ``cache_dir`` setting, which is only known once settings are read.
    """
    explicit = os.environ.get("SYMPHONY_CACHE_DIR")
    if explicit:
        return Path(explicit) / "settings-snapshot.msgpack"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "symphony" / "settings-snapshot.msgpack"


def _file_stamp(path: Path | None) -> list[object]:
    if path is None:
        return []
    try:
        stat = os.stat(path)
    except OSError:
        return [os.path.abspath(path)]  # unreadable: load_settings raises, nothing is saved
    return [os.path.abspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def _key(path: Path | None, overrides: Mapping[str, Any], profile_defaults: Mapping[str, Any]) -> str:
    here = Path(__file__).parent
    schema = [os.stat(here / name).st_mtime_ns for name in _SCHEMA_FILES]
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("SYMPHONY_") or k in _DEFAULTS_ENV)
    stamp = [_FORMAT, sys.version, schema, _file_stamp(path), env, dict(overrides), dict(profile_defaults)]
    return blake2b(_encoder.encode(stamp), digest_size=32).hexdigest()


def load_view(
    *,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    profile_defaults: Mapping[str, Any] | None = None,
) -> SettingsView:
    """The settings ``load_settings`` would build, from the snapshot when every source is unchanged."""
    path = config_file if config_file is not None else default_config_file()
    overrides, profile_defaults = overrides or {}, profile_defaults or {}
    try:
        key = _key(path, overrides, profile_defaults)
    except (OSError, TypeError, ValueError, OverflowError, NotImplementedError):  # msgpack cannot hold a value
        key = None
    target = snapshot_file()
    saved: dict[str, _Entry] = {}
    if key is not None:
        with contextlib.suppress(OSError, msgspec.DecodeError, msgspec.ValidationError):
            snapshot = _decoder.decode(target.read_bytes())
            saved = snapshot.entries if snapshot.format == _FORMAT else {}
        if key in saved:
            return SettingsView(saved[key].values, saved[key].component_default)
    values = _settings_mirror.validate(
        read_settings_file(path) if path is not None else {}, overrides, profile_defaults
    )
    if values is not None:  # the usual case: validated as pydantic would, without importing it
        view = SettingsView(values, _settings_mirror.component_default())
        same = _plain(values).__eq__
    else:  # pydantic decides, and raises what is wrong
        from ._settings import load_settings

        settings = load_settings(config_file=path, overrides=overrides, profile_defaults=profile_defaults)
        view = SettingsView.of(settings)

        def same(saved: dict[str, Any]) -> bool:
            return type(settings).model_validate(saved) == settings

    if key is not None:
        _save(target, saved, key, view, same)
    return view


def _save(
    target: Path, saved: dict[str, _Entry], key: str, view: SettingsView, same: Callable[[dict[str, Any]], bool]
) -> None:
    """Add the values to ``saved`` (dropping the oldest) unless reading them back would not give these settings."""
    entries = {k: v for k, v in saved.items() if k != key}
    entries[key] = _Entry(view._values, view._component_values)
    entries = dict(list(entries.items())[-_KEPT:])
    try:
        data = _encoder.encode(_Snapshot(_FORMAT, entries))
        decoded = _decoder.decode(data)
    except (TypeError, ValueError, OverflowError, NotImplementedError, msgspec.DecodeError, msgspec.ValidationError):
        return
    if not same(decoded.entries[key].values):
        return
    with contextlib.suppress(OSError):  # a snapshot that cannot be written only costs a validation next time
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace(target, data)


def _replace(target: Path, data: bytes) -> None:
    """Put ``data`` in place by rename, owner-only whatever the umask (it may hold what a 0600 settings file holds).

    Not flushed to disk (``atomic_write`` is): a cache lost in a crash only costs one validation,
    and the fsyncs cost 10-30 ms of the command that saves it.
    """
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{get_ident()}")
    with contextlib.suppress(FileNotFoundError):  # left by a crashed process of the same ids
        os.unlink(temporary)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
