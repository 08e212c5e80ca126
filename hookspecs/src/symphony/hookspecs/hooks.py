"""The hook catalogue: every hook a Symphony plugin can implement.

Each docstring is the hook's reference, in one template (Google style, so
``mkdocstrings`` renders it and ``scripts/gen_hooks_doc.py`` writes
docs/hooks.md from it): what the hook is for, then ``Args``, ``Returns``,
``Raises``, ``When called``, ``Scope`` (which plugins may implement it and how
many count), ``Result`` (broadcast, firstresult, historic or async) and
``Since`` (the plugin API version).  Implement a hook by defining a function of
the same name decorated with ``@hookimpl`` in a module or class registered
under the ``symphony.plugins`` entry-point group; take only the arguments you
need.

Builtins register through the same entry points and use ``trylast=True`` on
provider hooks so that any third-party provider takes precedence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._markers import async_hook, hookspec

if TYPE_CHECKING:
    import pluggy

    from ._contributions import (
        ArtifactScoreSignal,
        CodecSpec,
        ComponentOptionsSpec,
        DataRule,
        InstrumentSpec,
        Invocation,
        ModelSpec,
        OperatorSpec,
        PreValidatorSpec,
        StaleSource,
        TransportSpec,
        WorkflowCheck,
    )
    from ._events import Event
    from ._health import HealthCheck
    from .ports import (
        ArbitrationEnginePort,
        ArtifactStorePort,
        AsyncComponent,
        ConductorPort,
        DagTrackerPort,
        DataAccessPort,
        ExtensionPort,
        HostContext,
        LanguagePort,
        MessageBus,
        PermissionRecordsPort,
        PitPort,
        PoolManagerPort,
        PreValidationPort,
        StaleManagerPort,
        TextEditingPort,
    )
    from .runtimes import RuntimeSpec


# ---------------------------------------------------------------------------
# Setup and lifecycle: called once each, in this order:
# symphony_addhooks -> symphony_configure -> symphony_components ->
# (components start) -> symphony_startup ... symphony_shutdown -> (components stop)
# ---------------------------------------------------------------------------


@hookspec(historic=True)
def symphony_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Add hookspecs for other plugins to implement, so a plugin can offer its own extension points.

    Args:
        pluginmanager: the host's pluggy manager; call
            ``pluginmanager.add_hookspecs(module)`` with a module whose specs use
            the ``symphony.hookspecs.hookspec`` marker and names starting ``symphony_``.

    Returns:
        Nothing.

    Raises:
        Exception: any exception refuses the plugin's registration (it is
            listed ``failed``, "was refused", with its traceback).

    When called:
        As each plugin is registered, before any of its other hooks: the host
        makes a historic call before registering anything.

    Scope:
        Every plugin may implement it; each implementation is called.

    Result:
        Historic, broadcast: also delivered to plugins registered later.

    Since:
        1.0
    """


@hookspec
def symphony_configure(context: HostContext) -> None:
    """React to the final settings, so a plugin can validate its configuration before anything starts.

    Args:
        context: the host as plugins see it; read your settings with
            ``context.component_config(...)``.  Don't call ``context.port()``
            here: loading is still running, so it re-enters loading and fails
            (call it when the port is needed, e.g. in a component's ``start``).

    Returns:
        Nothing.

    Raises:
        ConfigurationError: when the plugin's settings are unusable.  Any
            exception marks the plugin ``failed`` and unregisters it; the host
            continues without it.

    When called:
        Once, after every plugin is registered and settings are final, before
        components are collected.  A plugin added later with ``Host.register()``
        is configured on registration.  Must not block on long I/O: start work
        in a component instead.

    Scope:
        Every plugin may implement it; each implementation is isolated.

    Result:
        Broadcast (not historic).

    Since:
        1.0
    """


@hookspec
def symphony_components(context: HostContext) -> list[AsyncComponent]:
    """Contribute long-lived components, so work that needs starting and stopping has one lifecycle.

    Args:
        context: the host as plugins see it.

    Returns:
        The plugin's ``AsyncComponent``s (``name``, ``depends_on``, ``start``,
        ``stop``, ``health_check``), or ``[]``.

    Raises:
        Exception: marks the plugin failed.  A component whose ``start``
            raises (or passes ``components.<name>.timeout``) is stopped, its
            plugin taken out and its dependents skipped; cycle members fail.

    When called:
        Once, at ``Host.start()``, before any component starts.  Components
        start in dependency order and stop in reverse at ``Host.stop()``.

    Scope:
        Every plugin may implement it; component names are unique across plugins.

    Result:
        Broadcast: the lists are concatenated.

    Since:
        1.0
    """
    raise NotImplementedError


@async_hook("concurrent")
@hookspec
async def symphony_startup(context: HostContext) -> None:
    """Run once everything has started, so a plugin can begin work that needs running components.

    Implementations may be ``async def`` or plain functions.

    Args:
        context: the host as plugins see it.

    Returns:
        Nothing.

    Raises:
        Exception: any exception, or running past ``hooks.timeout``
            (HookTimeoutError), stops the plugin's running components and marks
            the plugin failed; the host still starts.

    When called:
        Once, after every component has started.

    Scope:
        Every plugin may implement it.

    Result:
        Async (concurrent): all implementations run at once under one ``hooks.timeout``.

    Since:
        1.0
    """


@async_hook("concurrent")
@hookspec
async def symphony_shutdown(context: HostContext) -> None:
    """Run once before components stop, so a plugin can finish or hand off work cleanly.

    Implementations may be ``async def`` or plain functions.

    Args:
        context: the host as plugins see it.

    Returns:
        Nothing.

    Raises:
        Exception: errors and timeouts are logged and shutdown continues.

    When called:
        Once, at ``Host.stop()``, before components stop; only if the host started.

    Scope:
        Every plugin may implement it.

    Result:
        Async (concurrent), under ``hooks.timeout``.

    Since:
        1.0
    """


# ---------------------------------------------------------------------------
# Port providers: firstresult, resolved by tier.
# Must be cheap and free of side effects: return an object, start nothing
# (contribute a component for that).  Return None to decline.  Two plugins
# returning a provider at the same priority is a ProviderConflictError unless
# the setting ``ports.<port> = "<plugin>"`` picks one.
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def symphony_provide_text_editing(context: HostContext) -> TextEditingPort | None:
    """Provide port ``text_editing``: the buffers the editor bridge opens, edits and saves.

    Args:
        context: the host as plugins see it.

    Returns:
        A ``TextEditingPort``, or None to decline.  Builtin: plugin ``editor``
        (a bridge to the ``symphony editor-core`` process, restarted and
        resynced if it dies; see docs/editor.md).

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("text_editing")``.

    When called:
        The first time anyone asks for the port (``context.port``, ``symphony
        doctor``); the result is cached for the host's life.

    Scope:
        One provider serves the port: ``ports.text_editing`` picks it, else the
        highest tier (tryfirst, normal, trylast) with exactly one offer.

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_language(context: HostContext) -> LanguagePort | None:
    """Provide port ``language``: diagnostics, completion, hover and definitions for open buffers.

    Args:
        context: the host as plugins see it.

    Returns:
        A ``LanguagePort``, or None to decline.  Builtin: plugin ``lsp``
        (real language servers over stdio, supervised, kept in sync with the
        ``text_editing`` port's buffers).

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("language")``.

    When called:
        The first time anyone asks for the port; the result is cached for the
        host's life.

    Scope:
        One provider serves the port: ``ports.language`` picks it, else the
        highest tier (tryfirst, normal, trylast) with exactly one offer.

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_pit(context: HostContext) -> PitPort | None:
    """Provide port ``pit``: the facade over pool, DAG tracker and artifacts for callers needing all three.

    Args:
        context: the host as plugins see it.

    Returns:
        A ``PitPort``, or None to decline.  No builtin provides it yet
        (``symphony doctor`` reports it missing).

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("pit")``.

    When called:
        The first time anyone asks for the port; cached for the host's life.

    Scope:
        One provider serves the port (``ports.pit`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_pool_manager(context: HostContext) -> PoolManagerPort | None:
    """Provide port ``pool_manager``: model allocation and pre-warming, so instruments share warm models.

    Args:
        context: the host as plugins see it.

    Returns:
        A ``PoolManagerPort``, or None to decline.  The builtin plugin ``pool``
        provides one (trylast) that runs each model instance in a worker process.

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("pool_manager")``.

    When called:
        The first time anyone asks for the port; cached for the host's life.

    Scope:
        One provider serves the port (``ports.pool_manager`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_dag_tracker(context: HostContext) -> DagTrackerPort | None:
    """Provide port ``dag_tracker``: workflow runs with checkpoints, used by ``symphony run`` and the conductor.

    Args:
        context: the host as plugins see it.

    Returns:
        A ``DagTrackerPort``, or None to decline.  Builtin: plugin ``dag``
        (checkpointed runs in SQLite).

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("dag_tracker")``.

    When called:
        The first time anyone asks for the port (``symphony run``, ``runs``,
        the conductor, ``doctor``); cached for the host's life.

    Scope:
        One provider serves the port (``ports.dag_tracker`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_artifact_store(context: HostContext) -> ArtifactStorePort | None:
    """Provide port ``artifact_store``: content-addressed storage of node outputs and files.

    Args:
        context: the host as plugins see it.

    Returns:
        An ``ArtifactStorePort``, or None to decline.  Builtin: plugin
        ``artifacts`` (a content-addressed directory under ``<data_dir>/artifacts``).

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("artifact_store")``.

    When called:
        The first time anyone asks for the port; cached for the host's life.

    Scope:
        One provider serves the port (``ports.artifact_store`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_arbitration_engine(context: HostContext) -> ArbitrationEnginePort | None:
    """Provide port ``arbitration_engine``: resource arbitration, so competing nodes do not oversubscribe.

    Args:
        context: the host as plugins see it.

    Returns:
        An ``ArbitrationEnginePort``, or None to decline.  The builtin plugin
        ``arbitration`` provides one (trylast) over ``[components.arbitration]``.

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("arbitration_engine")``.

    When called:
        The first time anyone asks for the port; cached for the host's life.

    Scope:
        One provider serves the port (``ports.arbitration_engine`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_stale_manager(context: HostContext) -> StaleManagerPort | None:
    """Provide port ``stale_manager``: staleness tracking, so outdated artifacts are found and reclaimed.

    Args:
        context: the host as plugins see it.

    Returns:
        A ``StaleManagerPort``, or None to decline.  The builtin plugin ``stale``
        provides one (trylast) over the ``symphony_stale_sources`` contributions.

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("stale_manager")``.

    When called:
        The first time anyone asks for the port; cached for the host's life.

    Scope:
        One provider serves the port (``ports.stale_manager`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_extension_runtime(context: HostContext) -> ExtensionPort | None:
    """Provide port ``extension_runtime``: loading and sandboxed invocation of Orchestra Kit extensions.

    Args:
        context: the host as plugins see it.

    Returns:
        An ``ExtensionPort``, or None to decline.  Builtin: plugin
        ``extensions`` (the in-process, subprocess and wasm sandboxes).

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("extension_runtime")``.

    When called:
        The first time anyone asks for the port (``symphony ext invoke``, runs
        with extension nodes, ``doctor``); cached for the host's life.

    Scope:
        One provider serves the port (``ports.extension_runtime`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_conductor(context: HostContext) -> ConductorPort | None:
    """Provide port ``conductor``: sees a workflow through, in the host's process or as its own.

    Args:
        context: the host as plugins see it.

    Returns:
        A ``ConductorPort``, or None to decline.  Builtin: plugin ``conductor``
        (embedded, or a supervised ``symphony conductor serve`` process), over
        the ``dag_tracker`` port.

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("conductor")``.

    When called:
        The first time anyone asks for the port (``symphony conductor status``,
        ``doctor``); cached for the host's life.

    Scope:
        One provider serves the port (``ports.conductor`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_data_access(context: HostContext) -> DataAccessPort | None:
    """Provide port ``data_access``: persistence of workflows and users behind the data service.

    Args:
        context: the host as plugins see it.

    Returns:
        A ``DataAccessPort``, or None to decline.  Builtin: plugin ``data``
        (``trylast``): the embedded service on SQLite, or a remote one when
        ``[components.data.options] url`` is set.

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("data_access")``.

    When called:
        The first time anyone asks for the port; cached for the host's life.

    Scope:
        One provider serves the port (``ports.data_access`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_permission_records(context: HostContext) -> PermissionRecordsPort | None:
    """Provide port ``permission_records``: where extension grants, trust marks and the permission audit are kept.

    Args:
        context: the host as plugins see it.

    Returns:
        A ``PermissionRecordsPort``, or None to decline (the host then keeps
        them in its own SQLite file).  Builtin: plugin ``data`` (``trylast``):
        the data service, embedded or remote, each user's records their own.

    Raises:
        Exception: surfaces as HookCallError; the host then loads no extension.

    When called:
        When the host first needs permissions (loading extensions, ``symphony
        ext grant``, ``symphony audit``); cached for the host's life.

    Scope:
        One provider serves the port (``ports.permission_records`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_pre_validation(context: HostContext) -> PreValidationPort | None:
    """Provide port ``pre_validation``: fast technical checks, so bad requests fail before any work.

    Args:
        context: the host as plugins see it.

    Returns:
        A ``PreValidationPort``, or None to decline.  Builtin: plugin
        ``extensions`` (the manifest checker plus every ``symphony_pre_validators`` check).

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("pre_validation")``.

    When called:
        The first time anyone asks for the port (e.g. ``symphony doctor``);
        cached for the host's life.

    Scope:
        One provider serves the port (``ports.pre_validation`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_provide_message_bus(context: HostContext) -> MessageBus | None:
    """Provide port ``message_bus``: routing, request/response and pub/sub of envelopes between endpoints.

    Args:
        context: the host as plugins see it.

    Returns:
        A ``MessageBus``, or None to decline.  Builtin: plugin ``bus`` (in process).
        Whichever bus serves the port is started and stopped with the host
        (component ``message_bus``), checked by the ``message_bus`` health
        check, sent the host's events, and served on sockets by ``symphony bus serve``.

    Raises:
        Exception: surfaces as HookCallError to the caller of ``port("message_bus")``.

    When called:
        The first time anyone asks for the port (the host's ``message_bus``
        component at start, ``bus serve``, ``doctor``); cached for the host's life.

    Scope:
        One provider serves the port (``ports.message_bus`` or the highest tier).

    Result:
        Firstresult, resolved by tier with conflict detection.

    Since:
        1.0
    """


# ---------------------------------------------------------------------------
# Contributions: broadcast; every implementation's list is collected.
# Names must be unique per kind across plugins.
# ---------------------------------------------------------------------------


@hookspec
def symphony_instruments(context: HostContext) -> list[InstrumentSpec]:
    """Contribute instruments (AI model calls), so workflows can use them as nodes.

    Args:
        context: the host as plugins see it.

    Returns:
        ``InstrumentSpec(name, factory, inputs, outputs, models, description)``s;
        ``factory(config)`` returns an object with ``async __call__(inputs) -> outputs``.

    Raises:
        Exception: takes only the raising plugin's instruments out.
            ProviderConflictError (from ``contributions``) when two plugins use one name.

    When called:
        Whenever the node catalogue is built: ``symphony workflow validate``,
        ``symphony run``, the DAG tracker, ``symphony ext`` (extensions'
        instruments are contributed by the host's ``extensions`` plugin).

    Scope:
        Every plugin may implement it; names are unique across plugins.

    Result:
        Broadcast: collected by name (``HostContext.contributions``).

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_operators(context: HostContext) -> list[OperatorSpec]:
    """Contribute operators (utilities), so workflows can use them as nodes.

    Args:
        context: the host as plugins see it.

    Returns:
        ``OperatorSpec(name, factory, inputs, outputs, cpu_bound, description)``s;
        ``cpu_bound`` operators run off the event loop.

    Raises:
        Exception: takes only the raising plugin's operators out.
            ProviderConflictError (from ``contributions``) when two plugins use one name.

    When called:
        Whenever the node catalogue is built (``workflow validate``, ``run``,
        the DAG tracker).

    Scope:
        Every plugin may implement it; names are unique across plugins.

    Result:
        Broadcast: collected by name (``HostContext.contributions``).

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_transports(context: HostContext) -> list[TransportSpec]:
    """Contribute transport kinds, so the bus and the sandbox can reach endpoints over new links.

    Args:
        context: the host as plugins see it.

    Returns:
        ``TransportSpec(name, factory, schemes, description)``s;
        ``factory(config)`` gives a ``Transport``.

    Raises:
        Exception: takes only the raising plugin out.

    When called:
        Not yet called by the host: the builtin ``transports`` plugin
        contributes ``unix``, ``tcp``, ``stdio`` and ``shm``, which the bus and
        sandbox still use directly.

    Scope:
        Every plugin may implement it; names are unique across plugins.

    Result:
        Broadcast.

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_extension_runtimes(context: HostContext) -> list[RuntimeSpec]:
    """Contribute extension runtimes, so the host can run extensions of a kind without importing a runtime.

    Args:
        context: the host as plugins see it.

    Returns:
        ``RuntimeSpec(name, factory, description)``s; ``name`` is the runtime
        kind a manifest names (``python``, ``subprocess``, ``wasm``) and
        ``factory(context)`` builds a ``symphony.hookspecs.runtimes.Runtime``
        the first time the host runs an extension of that kind.

    Raises:
        Exception: takes only the raising plugin out.

    When called:
        When the host's ``extension_runtime`` port first runs an extension
        (``symphony ext invoke``, an extension's node in ``symphony run``).  The
        ``sandbox`` plugin of ``symphony-sandbox`` contributes all three kinds;
        without it, running an extension is an error naming the missing kind.

    Scope:
        Every plugin may implement it; a kind is unique across plugins (a
        distribution replacing one blocks the ``sandbox`` plugin in its profile).

    Result:
        Broadcast.

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_codecs(context: HostContext) -> list[CodecSpec]:
    """Contribute envelope codecs, negotiated per connection by content type.

    Args:
        context: the host as plugins see it.

    Returns:
        ``CodecSpec(name, content_type, encode, decode, description)``s.  The
        builtin ``codecs`` plugin contributes ``msgpack`` (``application/msgpack``)
        and ``json`` (``application/json``).

    Raises:
        Exception: takes only the raising plugin out.

    When called:
        Not yet called by the host: connections negotiate among the builtin codecs.

    Scope:
        Every plugin may implement it; names are unique across plugins.

    Result:
        Broadcast.

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_pre_validators(context: HostContext) -> list[PreValidatorSpec]:
    """Contribute fast technical checks, so the pre-validation port refuses bad requests early.

    Args:
        context: the host as plugins see it.

    Returns:
        ``PreValidatorSpec(name, target, check, description)``s: ``target`` is
        ``workflow``, ``workflow_update``, ``user`` or ``extension_manifest``;
        ``check(request)`` returns None or raises PreValidationError.

    Raises:
        Exception: takes only the raising plugin out.

    When called:
        By the builtin pre-validation port on each ``validate_*`` call.

    Scope:
        Every plugin may implement it; names are unique across plugins.

    Result:
        Broadcast: collected by name.

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_workflow_checks(context: HostContext) -> list[WorkflowCheck]:
    """Contribute validation stages, so a plugin's rules join every workflow report.

    Args:
        context: the host as plugins see it.

    Returns:
        ``WorkflowCheck(name, check, description)``s; ``check(workflow)``
        returns ``WorkflowProblem``s, which follow the builtin stages in the
        report.  Stay quick and side-effect free: editors re-validate after
        every edit.  The host's ``extensions`` plugin contributes
        ``permissions`` (every node whose extension would be denied).

    Raises:
        Exception: takes only the raising plugin out.

    When called:
        Whenever a workflow is validated with the installed catalogue
        (``symphony workflow validate``, ``symphony run``).

    Scope:
        Every plugin may implement it; names are unique across plugins.

    Result:
        Broadcast: collected by name.

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_artifact_score_signals(context: HostContext) -> list[ArtifactScoreSignal]:
    """Contribute quality signals of stored artifacts, so search ranks what proved good first.

    Args:
        context: the host as plugins see it.

    Returns:
        ``ArtifactScoreSignal(name, value, weight=1.0)``s; ``value(signals)``
        gets an ``ArtifactSignals`` (metadata, age, recorded signal events)
        and returns a rating in [0, 1] or None for no opinion.  Stay quick and
        side-effect free: it runs for every candidate of every search.

    Raises:
        Exception: takes only the raising plugin out.

    When called:
        Once, when the builtin ``artifacts`` plugin provides the artifact
        store port; the signals then rate artifacts whenever a score is asked
        for (search ranking, ``symphony artifacts score``).

    Scope:
        Every plugin may implement it; names are unique across plugins (the
        builtins are ``validation``, ``use``, ``feedback`` and ``age``).

    Result:
        Broadcast: collected by name.

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_models(context: HostContext) -> list[ModelSpec]:
    """Contribute models the pool manager can load, so instruments share warm instances of them.

    Args:
        context: the host as plugins see it.

    Returns:
        ``ModelSpec(name, loader, config, sharing, instances, warm_timeout,
        idle_timeout, memory)``s; ``loader`` is ``"module:function"``, imported
        and called with ``config`` in a worker process when the model warms.

    Raises:
        Exception: takes only the raising plugin's models out.

    When called:
        When the pool manager is first asked for (its model table is built
        once per host); instruments name the models they use in
        ``InstrumentSpec.models``.

    Scope:
        Every plugin may implement it; names are unique across plugins (the
        builtin is ``all-minilm-l6-v2``, the ``embed`` instrument's model).

    Result:
        Broadcast: collected by name.

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_stale_sources(context: HostContext) -> list[StaleSource]:
    """Contribute a source of stale state, so the stale manager finds and reclaims it with the rest.

    Args:
        context: the host as plugins see it.

    Returns:
        ``StaleSource(name, find, reclaim)``s: ``find()`` lists the
        ``StaleItem``s stale now, changing nothing; ``reclaim(items)``
        reclaims those still stale and returns them.  Either may be async.

    Raises:
        Exception: takes only the raising plugin out; a source that raises
            while finding or reclaiming is reported in ``StaleReport.errors``.

    When called:
        Once, when the builtin ``stale`` plugin provides the stale manager
        port; the sources are then asked on every ``report``/``collect``
        (``symphony stale report|gc``, and on a schedule in ``conductor serve``).

    Scope:
        Every plugin may implement it; names are unique across plugins (the
        builtins are ``node-cache``, ``runs``, ``models`` and ``artifacts``).

    Result:
        Broadcast: collected by name.

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_data_rules(context: HostContext) -> list[DataRule]:
    """Contribute business rules, so the data service refuses writes that break them, authoritatively.

    Args:
        context: the host as plugins see it.

    Returns:
        ``DataRule(name, resource, check)``s: ``check(action, record, before)``
        runs inside the write's transaction for each write to ``resource`` and
        raises ValidationError to refuse it (nothing is stored).

    Raises:
        Exception: takes only the raising plugin out.

    When called:
        Once, when the data service application is built for a host (the
        embedded default or ``symphony data serve``); a service built without
        a host gets its rules passed in.

    Scope:
        Every plugin may implement it; names are unique across plugins (the
        builtin is ``workflow-spec``: a workflow's spec must decode as a Workflow).

    Result:
        Broadcast: collected by name.

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_component_options(context: HostContext) -> list[ComponentOptionsSpec]:
    """Declare the type of a component's ``options``, so a misspelt setting fails when settings load.

    Args:
        context: the host as plugins see it.

    Returns:
        ``ComponentOptionsSpec(name, options)``s; ``name`` is the settings
        section ``[components.<name>.options]`` and ``options`` a type
        ``msgspec.convert`` accepts (usually a Struct with ``forbid_unknown_fields``).

    Raises:
        Exception: takes only the raising plugin out.  An option that does not
            fit its type is a ConfigurationError naming the full key (with the
            closest valid one).

    When called:
        Once, right after plugins register and before ``symphony_configure``.

    Scope:
        Every plugin may implement it; names are unique across plugins.

    Result:
        Broadcast: collected by name.

    Since:
        1.0
    """
    raise NotImplementedError


@hookspec
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    """Add subcommands to the ``symphony`` command line, so a plugin ships its own CLI.

    Every plugin's implementation runs for any plugin command line, so add
    each command with `symphony.hookspecs.commands.lazy_command`
    (name, ``"module:attribute"`` or a function that builds it, and its help):
    its module is imported only when that command is used, and importing
    nothing else here keeps every other plugin's commands fast.

    Args:
        cli: a ``click.Group`` collecting this invocation's commands (they
            become top-level ``symphony`` commands); call ``cli.add_command(...)``.
        context: the host as plugins see it; keep it for the commands to use when run.

    Returns:
        Nothing.

    Raises:
        Exception: in the hook itself, takes only its plugin out.  Commands
            raise ``click.ClickException`` or a SymphonyError for user errors
            (one line, exit 1, no traceback).

    When called:
        At most once per process, after the host has loaded: when the CLI
        resolves a command name that isn't builtin, or when help or shell
        completion lists all commands.

    Scope:
        Every plugin may implement it.

    Result:
        Broadcast.

    Since:
        1.0
    """


@hookspec
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    """Contribute health checks, so ``symphony doctor`` can say what is wrong and how to fix it.

    Args:
        context: the host as plugins see it.

    Returns:
        ``HealthCheck(name, check, component="")``s; ``check()`` returns a
        ``HealthStatus`` or an awaitable of one.  Results are keyed by ``name``.

    Raises:
        Exception: if the hook raises, a failed check named after the plugin
            is reported; a check that raises or passes ``hooks.timeout`` is
            reported failed, naming check and plugin.

    When called:
        By ``Host.health()``; ``symphony doctor`` calls it after starting the
        host.  The checks run concurrently.

    Scope:
        Every plugin may implement it; keep names unique.

    Result:
        Broadcast.

    Since:
        1.0
    """
    raise NotImplementedError


# ---------------------------------------------------------------------------
# Events and cross-cutting wrappers
# ---------------------------------------------------------------------------


@hookspec
def symphony_event(event: Event, context: HostContext) -> None:
    """Observe a state change (host, plugin, component, run and node events), so plugins can react or record.

    Args:
        event: what changed: ``topic``, ``source`` and ``data``.  The host
            emits ``host.loaded`` (data ``ms``), ``host.starting``,
            ``host.started``, ``host.stopping``, ``host.stopped``,
            ``plugin.failed`` (``plugin``, ``error``), ``component.started``;
            the DAG tracker ``run.*`` and ``node.*``; plugins their own
            through ``context.emit``.
        context: the host as plugins see it (implementations may omit it).

    Returns:
        Nothing.

    Raises:
        Exception: logged; never affects the emitter or other observers.

    When called:
        Synchronously, where the change happens: stay fast and hand slow work
        to a task.  The builtin message bus republishes every event on its
        topic, so bus subscribers and bridged hosts see them too.

    Scope:
        Every plugin may implement it.

    Result:
        Broadcast.

    Since:
        1.0
    """


@hookspec(firstresult=True)
def symphony_invoke(invocation: Invocation) -> Any:
    """Perform one call of an instrument, operator or extension, so wrappers can observe and guard every call.

    Implement it with ``@hookimpl(wrapper=True)`` and ``result = yield`` to
    run code around every invocation (tracing, metrics, audit, permission
    checks); the host's essential plugin supplies the innermost
    implementation (``trylast``), which calls ``invocation.call``.

    Args:
        invocation: the call: its kind, target, inputs and ``call``, with the
            node, run, plugin and runtime it belongs to.

    Returns:
        What the call returned; ``HostContext.invoke`` awaits an async target's
        awaitable before resuming the wrappers, so ``yield`` gives them the result.

    Raises:
        Exception: whatever the call or a wrapper raises propagates to the
            caller (not isolated: a wrapper may refuse a call by raising).

    When called:
        By ``HostContext.invoke``: for each attempt of each instrument or
        operator node of a run, and each call into an extension's runtime
        (nested in its node's invocation, as ``invocation.parent``).

    Scope:
        Every plugin may wrap it; one innermost implementation performs the call.

    Result:
        Firstresult, with wrappers.

    Since:
        1.0
    """
