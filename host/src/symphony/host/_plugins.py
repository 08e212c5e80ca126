"""Discovering, loading and registering plugins, each failure isolated.

Plugins come from the ``symphony.plugins`` entry-point group (builtins too,
exactly like third parties) plus any passed to the Host explicitly.  Blocked
and disabled plugins are never imported.  A plugin that fails to import,
declares an API range the host does not speak, has an implementation pluggy
rejects or implements a hook that does not exist is recorded as ``failed``
with its distribution, version and the reason, and the host goes on without it.

Entry points are listed by the host's index (``_index``) and loaded here as
``importlib.metadata`` loads them (``module:attribute``), without importing it:
importing ``importlib.metadata`` (email, zipfile, csv) cost every command ~12 ms.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterable
from functools import reduce
from importlib import import_module
from types import FunctionType, MethodType, ModuleType
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec
import pluggy

from symphony.hookspecs import API_VERSION, ApiRange, ApiRangeSyntaxError

from ._calls import reason
from ._index import DistributionEntry, EntryPointIndex

if TYPE_CHECKING:
    from ._snapshot import PluginsView

__all__ = [
    "BUILTIN_DISTRIBUTIONS",
    "GROUP",
    "PluginManager",
    "PluginRecord",
    "check_api",
    "discover",
    "load_entry_point",
]

log = logging.getLogger("symphony.host")

GROUP: Final = "symphony.plugins"
#: Distributions whose plugins are reported as ``builtin`` and registered first.
BUILTIN_DISTRIBUTIONS: Final = frozenset(
    {"symphony-builtins", "symphony-host", "symphony-sandbox", "symphony-registry"}
)
_BUILTIN_PRIORITY: Final = -100

#: Names a module's type gives it: only for these does pluggy's lookup find something other than the module's own.
_MODULE_TYPE_ATTRIBUTES: Final = frozenset(dir(ModuleType))
_HOOKABLE: Final = (FunctionType, staticmethod, classmethod, MethodType)

Source = Literal["essential", "builtin", "third-party", "explicit"]
PluginStatus = Literal["loaded", "blocked", "disabled", "failed"]


class PluginRecord(msgspec.Struct, kw_only=True):
    """One plugin as ``symphony plugins list`` shows it."""

    name: str
    source: Source
    status: PluginStatus
    distribution: str | None = None
    version: str | None = None
    target: str | None = None
    priority: int = 0
    hooks: list[str] = msgspec.field(default_factory=list)
    error: str | None = None
    #: The formatted traceback of the exception that failed the plugin, for its author.
    traceback: str | None = None
    load_ms: float = 0.0

    def fail(self, error: str, exception: BaseException | None = None) -> None:
        """Mark the plugin failed; ``exception`` (what raised, if anything) keeps its traceback."""
        self.status, self.error = "failed", error
        if exception is not None:
            self.traceback = "".join(traceback.format_exception(exception))


class PluginManager(pluggy.PluginManager):
    """pluggy's, with a module plugin's own names read from its namespace without ``inspect.getattr_static``.

    Registering looks up every name in ``dir(plugin)``: for a module, its imports too
    (600 names for the builtins, ~2 ms of every command).  A name in the module's own
    namespace that no type attribute shadows is what pluggy's lookup would find: a plain
    function is its own marker's holder (a module binds nothing), anything else but a
    method pluggy would pass over, and so does this.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        if type(plugin) is ModuleType and name not in _MODULE_TYPE_ATTRIBUTES:
            value = vars(plugin).get(name)
            if type(value) is FunctionType:
                opts: pluggy.HookimplOpts | None = getattr(value, f"{self.project_name}_impl", None)
                return opts if isinstance(opts, dict) else None
            if not isinstance(value, _HOOKABLE):
                return None
        return super().parse_hookimpl_opts(plugin, name)


def load_entry_point(value: str) -> object:
    """The object an entry point's ``module:attribute.attribute [extras]`` names, as ``EntryPoint.load`` finds it."""
    module, _, attributes = value.partition("[")[0].partition(":")
    found: object = import_module(module.strip())
    return reduce(getattr, filter(None, attributes.strip().split(".")), found)


def _load(record: PluginRecord) -> object | None:
    """Import one plugin, timed; a failure (any exception) is recorded on ``record`` and gives None."""
    start = time.perf_counter_ns()
    try:
        return load_entry_point(record.target or "")
    except Exception as error:
        message = f'Error importing plugin "{record.name}": {reason(error)}'
        record.fail(message, error)
        log.info("plugin %s disabled: %s", record.name, message, exc_info=error)  # reported by plugins list and doctor
        return None
    finally:
        record.load_ms = (time.perf_counter_ns() - start) / 1e6


def _priority(name: str, builtin: bool, settings: PluginsView) -> int:
    return settings.priority.get(name, _BUILTIN_PRIORITY if builtin else 0)


def _records(
    entries: Iterable[tuple[DistributionEntry, Any]],
    settings: PluginsView,
    essential: frozenset[str],
    blocked: frozenset[str],
) -> tuple[list[PluginRecord], list[PluginRecord]]:
    records: list[PluginRecord] = []
    candidates: list[PluginRecord] = []
    seen: set[str] = set()
    for dist, ep in entries:
        builtin = dist.name in BUILTIN_DISTRIBUTIONS
        record = PluginRecord(
            name=ep.name,
            source="builtin" if builtin else "third-party",
            status="loaded",
            distribution=dist.name,
            version=dist.version,
            target=ep.value,
            priority=_priority(ep.name, builtin, settings),
        )
        records.append(record)
        if ep.name in seen or ep.name in essential:
            record.fail(f"Plugin name {ep.name!r} is already taken by another plugin; rename the entry point.")
        elif ep.name in settings.block or ep.name in blocked:
            record.status = "blocked"
        elif settings.enable is not None and ep.name not in settings.enable:
            record.status = "disabled"
        else:
            candidates.append(record)
        seen.add(ep.name)
    candidates.sort(key=lambda c: (c.priority, c.name))
    return records, candidates


def check_api(name: str, plugin: object) -> str | None:
    """Why ``plugin`` cannot be used with this host's API version, or None."""
    declared = getattr(plugin, "SYMPHONY_API", None)
    if declared is None:
        return None
    try:
        wanted = ApiRange(str(declared))
    except ApiRangeSyntaxError as error:
        return f"Plugin {name!r} declares an invalid SYMPHONY_API: {error}"
    if API_VERSION not in wanted:
        have = ".".join(map(str, API_VERSION))
        return (
            f"Plugin {name!r} needs Symphony API {wanted}, but this host speaks {have};"
            " upgrade or downgrade one of them."
        )
    return None


def discover(
    pm: pluggy.PluginManager,
    index: EntryPointIndex,
    settings: PluginsView,
    *,
    essential: frozenset[str] = frozenset(),
    blocked: frozenset[str] = frozenset(),
    register: Any,
) -> list[PluginRecord]:
    """Load and register every allowed ``symphony.plugins`` entry point; return all records.

    ``blocked`` (the profile's blocks) adds to ``settings.block``: a user's own
    block list cannot un-block what the distribution blocked.

    ``register(record, plugin)`` registers one loaded plugin (the host wraps
    pluggy's register with its own checks) and returns an error or None.
    """
    records, candidates = _records(index.group(GROUP), settings, essential, blocked)
    loaded = [(record, _load(record)) for record in candidates]
    for record, plugin in loaded:  # all imported first, then registered in priority order
        if record.status == "failed":
            continue
        error = register(record, plugin)
        if error:
            record.fail(error)
    return records
