"""The Host: a pluggy manager with a lifecycle, ports, async hooks and health.

asyncio is imported in the coroutines that use it: loading a host (what every command does)
needs no event loop.  Likewise the components' ordering (graphlib) is imported when the host
starts, and the profiler when ``hooks.profile`` is set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

import msgspec
import pluggy

from symphony.hookspecs import (
    API_VERSION,
    PROJECT_NAME,
    ComponentConfig,
    ConfigurationError,
    DistroProfile,
    Event,
    HealthCheck,
    HealthStatus,
    HostStateError,
    Invocation,
    PortUnavailableError,
    Problem,
    ProviderConflictError,
    SymphonyError,
    hookimpl,
    hooks,
)
from symphony.hookspecs.ports import HostContext, PortName

from . import _calls
from ._component_options import check_component_options
from ._distros import ActiveDistro, select_distro
from ._index import EntryPointIndex, load_index
from ._plugins import PluginManager, PluginRecord, check_api, discover
from ._ports import PORTS
from ._snapshot import SettingsView, load_view

if TYPE_CHECKING:
    from ._components import ComponentRecord
    from ._profiling import Profiler
    from ._settings import Settings

__all__ = ["Host", "HostHealth", "HostState", "PortReport"]

log = logging.getLogger("symphony.host")

_CORE: Final = "symphony-core"
_TIERS: Final = ("tryfirst", "normal", "trylast")


class HostState(Enum):
    CREATED = "created"
    LOADING = "loading"
    LOADED = "loaded"
    STARTED = "started"
    STOPPED = "stopped"


class PortReport(msgspec.Struct, frozen=True, kw_only=True):
    """Who serves a port; ``error`` says why nobody does (a conflict or a failure is ``broken``)."""

    port: str
    provider: str | None
    type: str | None = None
    error: str | None = None
    broken: bool = False


class HostHealth(msgspec.Struct, frozen=True, kw_only=True):
    """Everything ``symphony doctor`` reports."""

    status: str
    ports: list[PortReport]
    components: dict[str, HealthStatus]
    checks: dict[str, HealthStatus]
    problems: list[Problem]


class _CorePlugin:
    """The host's own, essential implementations."""

    @hookimpl(trylast=True)
    def symphony_invoke(self, invocation: Invocation) -> Any:
        return invocation.call(invocation.inputs)


class Host:
    """Loads plugins, resolves ports, and runs components through start and stop.

    ``Host()`` does nothing until used: :meth:`load` discovers and registers
    plugins (enough for listing them), :meth:`start` loads if needed and then
    starts components; ``async with Host() as host`` starts and stops.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        config_file: Path | None = None,
        overrides: Mapping[str, Any] | None = None,
        plugins: Iterable[object] = (),
        discover_plugins: bool = True,
    ) -> None:
        self._given_settings = settings
        self._config_file = config_file
        self._overrides = dict(overrides or {})
        self._explicit = list(plugins)
        self._discover = discover_plugins
        self.state = HostState.CREATED
        self.pm = PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hooks)
        self.hook = self.pm.hook
        self.records: list[PluginRecord] = []
        self.components: list[ComponentRecord] = []
        self.profiler: Profiler | None = None
        self.distro = ActiveDistro(profile=None, reason="not loaded yet")
        # Validated (and the environment read) in load(); until then, plain defaults.
        self._view: SettingsView | None = SettingsView.of(settings) if settings is not None else None
        self._defaults: SettingsView | None = None
        self._ports: dict[str, object] = {}
        self._port_owner: dict[str, str] = {}
        #: What plugins see of this host.
        self.context: HostContext = _Context(self)

    # -- loading ---------------------------------------------------------------

    def load(self) -> Host:
        """Read settings, pick the distribution profile, discover and register plugins."""
        if self.state is not HostState.CREATED:
            return self
        self.state = HostState.LOADING
        start = time.perf_counter()
        if self._view is None:
            self._view = load_view(config_file=self._config_file, overrides=self._overrides)
        index = self._index() if self._discover else None
        if index is not None:
            self.distro = select_distro(index, self._view.distro)
            if self.distro.profile is not None and self._given_settings is None:
                self._view = load_view(
                    config_file=self._config_file,
                    overrides=self._overrides,
                    profile_defaults=self.distro.profile.setting_defaults(),
                )
        else:
            self.distro = ActiveDistro(profile=None, reason="discovery disabled")
        if self.view.hooks.profile:
            from ._profiling import Profiler

            self.profiler = Profiler()
        self.pm.hook.symphony_addhooks.call_historic(kwargs={"pluginmanager": self.pm})
        self._register_essential()
        for number, plugin in enumerate(self._explicit, start=1):
            name = getattr(plugin, "__name__", None) or type(plugin).__name__
            if any(r.name == name for r in self.records):
                name = f"{name}#{number}"
            record = PluginRecord(name=name, source="explicit", status="loaded", target=repr(plugin))
            self.records.append(record)
            if error := self._register(record, plugin):
                record.fail(error)
        if index is not None:
            essential = frozenset(r.name for r in self.records)
            profile_blocks = frozenset(self.distro.profile.block) if self.distro.profile else frozenset()
            self.records += discover(
                self.pm,
                index,
                self.view.plugins,
                essential=essential,
                blocked=profile_blocks,
                register=self._register,
            )
        self._check_unknown_hooks()
        check_component_options(self.view, self.contributions("symphony_component_options"))
        self._configure()
        self.state = HostState.LOADED
        self.emit(Event(topic="host.loaded", source=_CORE, data={"ms": (time.perf_counter() - start) * 1e3}))
        return self

    @property
    def settings(self) -> Settings:
        """The validated settings (pydantic's ``Settings``, built on first use); plain defaults before :meth:`load`."""
        return self.view.full()

    @property
    def view(self) -> SettingsView:
        """The settings as the host reads them, without pydantic; plain defaults before :meth:`load`."""
        if self._view is None:
            from ._settings import Settings

            self._defaults = self._defaults or SettingsView.of(Settings.model_construct())
            return self._defaults
        return self._view

    def _index(self) -> EntryPointIndex:
        return load_index(self.view.cache_dir, use_cache=self.view.plugins.index_cache)

    def _register_essential(self) -> None:
        if _CORE in self.view.plugins.block:
            raise ConfigurationError(
                f"Plugin {_CORE!r} is essential and cannot be blocked; remove it from plugins.block."
            )
        self.pm.register(_CorePlugin(), name=_CORE)
        self.records.append(PluginRecord(name=_CORE, source="essential", status="loaded", hooks=["symphony_invoke"]))

    def _register(self, record: PluginRecord, plugin: object) -> str | None:
        """Register one plugin; return why it was refused, or None."""
        if refused := check_api(record.name, plugin):
            return refused
        try:
            self.pm.register(plugin, name=record.name)
        except Exception as error:  # PluginValidationError, a name clash, an addhooks failure
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            return f"Plugin {record.name!r} was refused: {error}"
        if self.profiler is not None:
            self.profiler.instrument(self.pm, plugin)
            self.profiler.record(record.name, "import", int(record.load_ms * 1e6))
        return None

    def _hooks_by_plugin(self) -> dict[str, list[pluggy.HookCaller]]:
        """Plugin name -> the hooks it implements, in one pass (per-plugin lookups are quadratic)."""
        found: dict[str, list[pluggy.HookCaller]] = {}
        for caller in vars(self.pm.hook).values():
            for impl in caller.get_hookimpls():
                found.setdefault(impl.plugin_name, []).append(caller)
        return found

    def _check_unknown_hooks(self) -> None:
        """Record each plugin's hooks; take out plugins implementing hooks that do not exist."""
        known = {name for name, caller in vars(self.pm.hook).items() if caller.has_spec()}
        hooks = self._hooks_by_plugin()
        for record in self.records:
            if record.status != "loaded":
                continue
            callers = hooks.get(record.name, [])
            record.hooks = sorted(caller.name for caller in callers)
            unknown = [c.name for c in callers if c.name.startswith("symphony_") and not c.has_spec()]
            if unknown and record.source != "essential":
                hint = ", ".join(sorted(h for h in known if h.startswith("symphony_")))
                self._fail(
                    record,
                    f"Plugin {record.name!r} implements unknown hook(s) {', '.join(unknown)}; known hooks: {hint}.",
                )

    def _configure(self) -> None:
        self.call_each("symphony_configure", context=self.context)

    def call_each(self, hook_name: str, **kwargs: Any) -> list[_calls.Outcome]:
        """Call a broadcast hook's implementations one by one; a plugin that raises is taken out.

        Returns the outcomes of the plugins that succeeded, in pluggy's call order.
        """
        outcomes = _calls.call_each(getattr(self.pm.hook, hook_name), kwargs)
        for outcome in outcomes:
            if outcome.error is not None:
                self._fail(self._record(outcome.plugin), _failure(hook_name, outcome.error), outcome.error)
        return [outcome for outcome in outcomes if outcome.error is None]

    def _record(self, name: str) -> PluginRecord:
        return next(r for r in self.records if r.name == name and r.status == "loaded")

    def _fail(self, record: PluginRecord, error: str, exception: BaseException | None = None) -> None:
        """Take a plugin out of the host, keeping the reason (and the traceback) for ``plugins list``."""
        plugin = self.pm.get_plugin(record.name)
        if plugin is not None:
            self.pm.unregister(plugin)
        record.fail(error, exception)
        for port, owner in list(self._port_owner.items()):
            if owner == record.name:
                del self._ports[port], self._port_owner[port]
        # reported by plugins list and doctor
        log.info("plugin %s disabled: %s", record.name, error, exc_info=exception)
        self.emit(Event(topic="plugin.failed", source=_CORE, data={"plugin": record.name, "error": error}))

    def register(self, plugin: object, name: str | None = None) -> PluginRecord:
        """Register a plugin after loading (tests, embedding); it is configured at once."""
        self.load()
        record = PluginRecord(name=name or type(plugin).__name__, source="explicit", status="loaded")
        self.records.append(record)
        if error := self._register(record, plugin):
            record.fail(error)
            return record
        record.hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ())
        impl = [i for i in self.pm.hook.symphony_configure.get_hookimpls() if i.plugin is plugin]
        for outcome in _calls.call_each(_Only(impl), {"context": self.context}):
            if outcome.error is not None:
                self._fail(record, _failure("symphony_configure", outcome.error), outcome.error)
        return record

    # -- ports -------------------------------------------------------------------

    def port(self, name: str) -> Any:
        """The object serving port ``name``, resolved once and cached.

        ``ports.<name>`` in the settings picks a plugin; otherwise the provider
        of the highest tier (tryfirst, normal, trylast) wins, and two providers
        in that tier are a ProviderConflictError naming both.
        """
        if self.state is HostState.STOPPED:
            raise HostStateError(f"The host is stopped; port {name!r} is no longer served. Create a new Host.")
        if name in self._ports:
            return self._ports[name]
        if name not in PORTS:
            raise PortUnavailableError(f"Unknown port {name!r}; ports are: {', '.join(PORTS)}.")
        self.load()
        provider, owner = self._resolve(name)
        self._ports[name], self._port_owner[name] = provider, owner
        return provider

    def port_provider(self, name: str) -> str:
        """The name of the plugin serving port ``name`` (resolving it first)."""
        self.port(name)
        return self._port_owner[name]

    def _resolve(self, name: str) -> tuple[object, str]:
        caller = getattr(self.pm.hook, PORTS[name])
        impls = _calls.implementations(caller)
        chosen = self.view.ports.get(name)
        if chosen is not None:
            impls = [impl for impl in impls if impl.plugin_name == chosen]
            if not impls:
                raise PortUnavailableError(
                    f"Setting ports.{name} = {chosen!r}, but no loaded plugin of that name provides {name}."
                    " Check `symphony plugins list`."
                )
        for tier in _TIERS:
            members = [impl for impl in impls if _tier(impl) == tier]
            outcomes = _calls.call_each(_Only(members), {"context": self.context})
            for outcome in outcomes:
                if outcome.error is not None:
                    raise _calls.as_hook_error(outcome, caller.name) from outcome.error
            offered = [o for o in outcomes if o.result is not None]
            if len(offered) > 1:
                names = tuple(o.plugin for o in offered)
                raise ProviderConflictError(
                    f"Plugins {names[0]!r} and {names[1]!r} both provide port {name!r} at the same priority."
                    f' Choose one with `ports.{name} = "{names[0]}"` in settings, or block the other.',
                    port=name,
                    plugins=names,
                )
            if offered:
                return offered[0].result, offered[0].plugin
        raise PortUnavailableError(
            f"No plugin provides port {name!r}. Install or enable a plugin implementing {caller.name}."
        )

    def port_reports(self) -> list[PortReport]:
        """Which plugin serves each port, or why none does."""
        reports = []
        for name in PORTS:
            try:
                provider = self.port(name)
                reports.append(PortReport(port=name, provider=self._port_owner[name], type=type(provider).__name__))
            except PortUnavailableError as error:
                reports.append(PortReport(port=name, provider=None, error=str(error)))
            except (ProviderConflictError, _calls.HookCallError) as error:
                reports.append(PortReport(port=name, provider=None, error=str(error), broken=True))
        return reports

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Load if needed, start components in dependency order, then run startup hooks."""
        if self.state is HostState.STARTED:
            return
        if self.state is HostState.STOPPED:
            raise HostStateError("A stopped Host cannot be restarted; create a new one.")
        from ._components import start_order

        self.load()
        self.emit(Event(topic="host.starting", source=_CORE))
        self._collect_components()
        for record in start_order(self.components):
            await self._start_component(record)
        timeout = self.view.hooks.timeout
        for outcome in await _calls.acall_each(self.pm.hook.symphony_startup, {"context": self.context}, timeout):
            if outcome.error is not None:
                await self._fail_started(
                    outcome.plugin, f"symphony_startup failed: {_calls.reason(outcome.error)}", outcome.error
                )
        self.state = HostState.STARTED
        self.emit(Event(topic="host.started", source=_CORE))

    def _collect_components(self) -> None:
        from ._components import ComponentRecord

        for outcome in self.call_each("symphony_components", context=self.context):
            for component in outcome.result or ():
                self.components.append(ComponentRecord(name=component.name, plugin=outcome.plugin, component=component))

    async def _start_component(self, record: ComponentRecord) -> None:
        import asyncio

        if self.pm.get_plugin(record.plugin) is None:
            record.state, record.error = "skipped", f"not started: plugin {record.plugin!r} failed"
            return
        states = {c.name: c.state for c in self.components}
        waiting = [d for d in record.component.depends_on if states.get(d) != "running"]
        if waiting:
            record.state, record.error = (
                "skipped",
                f"not started: depends on {', '.join(waiting)}, which is not running",
            )
            return
        if not self.view.component(record.name).enabled:
            record.state, record.error = "skipped", f"disabled by components.{record.name}.enabled"
            return
        timeout = self.view.component(record.name).timeout
        try:
            await asyncio.wait_for(record.component.start(), timeout)
        except Exception as error:
            record.state, record.error = "failed", f"start failed: {_calls.reason(error)}"
            await self._stop_component(record)
            await self._fail_started(record.plugin, f"component {record.name!r} {record.error}", error)
            return
        record.state = "running"
        self.emit(Event(topic="component.started", source=record.plugin, data={"component": record.name}))

    async def _fail_started(self, plugin: str, error: str, exception: BaseException | None = None) -> None:
        """Stop a plugin's running components and take the plugin out."""
        for record in reversed(self.components):
            if record.plugin == plugin and record.state == "running":
                await self._stop_component(record)
                record.state = "failed"
        if self.pm.get_plugin(plugin) is not None:
            self._fail(self._record(plugin), error, exception)

    async def _stop_component(self, record: ComponentRecord) -> None:
        import asyncio

        try:
            await asyncio.wait_for(record.component.stop(), self.view.component(record.name).timeout)
        except Exception as error:
            log.warning("component %s failed to stop: %r", record.name, error)
            record.error = f"stop failed: {_calls.reason(error)}"
        if record.state == "running":
            record.state = "stopped"

    async def stop(self) -> None:
        """Run shutdown hooks, then stop components in reverse start order."""
        if self.state is not HostState.STARTED:
            self.state = HostState.STOPPED
            return
        from ._components import start_order

        self.emit(Event(topic="host.stopping", source=_CORE))
        timeout = self.view.hooks.timeout
        for outcome in await _calls.acall_each(self.pm.hook.symphony_shutdown, {"context": self.context}, timeout):
            if outcome.error is not None:
                log.warning("plugin %s failed in symphony_shutdown: %r", outcome.plugin, outcome.error)
        for record in reversed(start_order([c for c in self.components if c.state == "running"])):
            await self._stop_component(record)
        self.state = HostState.STOPPED
        self.emit(Event(topic="host.stopped", source=_CORE))

    async def __aenter__(self) -> Host:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- hooks -------------------------------------------------------------------

    async def acall(self, hook_name: str, *, timeout: float | None = None, **kwargs: Any) -> Any:
        """Await hook ``hook_name``: coroutine implementations run as its spec says.

        Returns what a pluggy call would (a list, or one result for firstresult
        hooks).  Raises HookCallError or HookTimeoutError naming the plugin.
        """
        caller = getattr(self.pm.hook, hook_name)
        return await _calls.acall(caller, kwargs, timeout or self.view.hooks.timeout)

    async def invoke(self, invocation: Invocation) -> Any:
        """Run an invocation through every ``symphony_invoke`` wrapper; its result, or its exception raised."""
        return await _calls.invoke(self.pm.hook.symphony_invoke, invocation)

    def emit(self, event: Event) -> None:
        """Broadcast ``event``; an observer that raises is logged, never propagated."""
        for outcome in _calls.call_each(self.pm.hook.symphony_event, {"event": event, "context": self.context}):
            if outcome.error is not None:
                log.warning("plugin %s failed observing %s: %r", outcome.plugin, event.topic, outcome.error)

    def contributions(self, hook_name: str) -> dict[str, tuple[str, Any]]:
        """Every contribution of a broadcast hook by name, with the plugin that made it.

        Names are unique per hook: a second plugin contributing a taken name
        is a ProviderConflictError naming both.
        """
        found: dict[str, tuple[str, Any]] = {}
        for outcome in self.call_each(hook_name, context=self.context):
            for item in outcome.result or ():
                if item.name in found:
                    first = found[item.name][0]
                    raise ProviderConflictError(
                        f"Plugins {first!r} and {outcome.plugin!r} both contribute {item.name!r} to {hook_name};"
                        " block one of them or ask an author to rename theirs.",
                        port=f"{hook_name}:{item.name}",
                        plugins=(first, outcome.plugin),
                    )
                found[item.name] = (outcome.plugin, item)
        return found

    # -- health ------------------------------------------------------------------

    async def health(self) -> HostHealth:
        """Ports, components, contributed health checks and plugin failures, with fixes."""
        self.load()
        problems = [
            Problem(message=f"Plugin {r.name!r} failed: {r.error}", fix=_plugin_fix(r))
            for r in self.records
            if r.status == "failed"
        ]
        ports = self.port_reports()
        # A port nothing provides is merely unavailable (doctor shows it as information); a conflict is an error.
        problems += [Problem(message=p.error or "", fix=_port_fix(p)) for p in ports if p.provider is None and p.broken]
        components = {}
        for record in self.components:
            if record.state == "running":
                components[record.name] = await self._component_health(record)
            else:
                components[record.name] = HealthStatus(
                    status="failed" if record.state == "failed" else "unknown", message=record.error or record.state
                )
        checks = await self._run_checks()
        for name, status in {**components, **checks}.items():
            problems += [
                Problem(message=f"{name}: {p.message}", fix=p.fix, severity=p.severity) for p in status.problems
            ]
            if status.status == "failed" and not status.problems:
                problems.append(Problem(message=f"{name}: {status.message}", fix="See the plugin's documentation."))
        worst = "failed" if any(p.severity == "error" for p in problems) else "degraded" if problems else "ok"
        return HostHealth(status=worst, ports=ports, components=components, checks=checks, problems=problems)

    async def _component_health(self, record: ComponentRecord) -> HealthStatus:
        import asyncio

        try:
            return await asyncio.wait_for(record.component.health_check(), self.view.component(record.name).timeout)
        except Exception as error:
            return HealthStatus.failed(
                f"health check raised {_calls.reason(error)}", fix=f"Check plugin {record.plugin!r}."
            )

    async def _run_checks(self) -> dict[str, HealthStatus]:
        import asyncio

        pending: dict[str, tuple[str, HealthCheck]] = {}
        for outcome in _calls.call_each(self.pm.hook.symphony_health_checks, {"context": self.context}):
            if outcome.error is not None:
                pending[outcome.plugin] = (
                    outcome.plugin,
                    HealthCheck(name=outcome.plugin, check=_raiser(outcome.error)),
                )
                continue
            for check in outcome.result or ():
                name = check.name if check.name not in pending else f"{check.name} ({outcome.plugin})"
                pending[name] = (outcome.plugin, check)
        names = list(pending)
        results = await asyncio.gather(*(_run_check(*pending[n], self.view.hooks.timeout) for n in names))
        return dict(zip(names, results, strict=True))


class _Context:
    """What plugins see of the host (the HostContext protocol)."""

    def __init__(self, host: Host) -> None:
        self._host = host

    @property
    def api_version(self) -> tuple[int, int]:
        return API_VERSION

    @property
    def data_dir(self) -> Path:
        return self._host.view.data_dir

    @property
    def cache_dir(self) -> Path:
        return self._host.view.cache_dir

    def component_config(self, name: str) -> ComponentConfig:
        return self._host.view.component(name).to_config()

    @property
    def settings(self) -> Settings:
        return self._host.settings

    @property
    def profile(self) -> DistroProfile | None:
        return self._host.distro.profile

    def port(self, name: PortName) -> Any:
        return self._host.port(name)

    def port_provider(self, name: PortName) -> str:
        return self._host.port_provider(name)

    def emit(self, event: Event) -> None:
        self._host.emit(event)

    def contributions(self, hook_name: str) -> dict[str, tuple[str, Any]]:
        return self._host.contributions(hook_name)

    async def invoke(self, invocation: Invocation) -> Any:
        return await self._host.invoke(invocation)


class _Only:
    """A stand-in hook caller over a chosen subset of implementations."""

    def __init__(self, impls: list[pluggy.HookImpl]) -> None:
        self._impls = impls

    def get_hookimpls(self) -> list[pluggy.HookImpl]:
        return list(reversed(self._impls))


def _failure(hook: str, error: BaseException) -> str:
    """Why a plugin was taken out by ``hook`` (the plugin itself is named by its record)."""
    if isinstance(error, SymphonyError):
        return f"{hook}: {error}"
    return f"{hook} raised {error!r}"


def _tier(impl: pluggy.HookImpl) -> str:
    return "tryfirst" if impl.tryfirst else "trylast" if impl.trylast else "normal"


def _port_fix(report: PortReport) -> str:
    return f"Choose one provider with --set ports.{report.port}=<plugin>, or fix or block the failing plugin."


def _plugin_fix(record: PluginRecord) -> str:
    where = f" (from {record.distribution} {record.version})" if record.distribution else ""
    return f'Fix or upgrade the plugin{where}, or block it with --set plugins.block=["{record.name}"].'


def _raiser(error: BaseException) -> Any:
    def check() -> HealthStatus:
        raise error

    return check


async def _run_check(plugin: str, check: HealthCheck, timeout: float) -> HealthStatus:
    import asyncio

    try:
        result = check.check()
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await asyncio.wait_for(result, timeout)
        return result  # type: ignore[return-value]
    except TimeoutError:
        return HealthStatus.failed(f"health check {check.name!r} of plugin {plugin!r} timed out after {timeout:g} s")
    except Exception as error:
        return HealthStatus.failed(f"health check {check.name!r} of plugin {plugin!r} raised {_calls.reason(error)}")
