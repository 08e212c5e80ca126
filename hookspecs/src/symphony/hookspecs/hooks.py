"""The hook catalogue: every hook a Symphony plugin can implement.

Each docstring is the hook's reference: when the host calls it, what it must
return, what it may raise.  Implement a hook by defining a function of the same
name decorated with ``@hookimpl`` in a module or class registered under the
``symphony.plugins`` entry-point group; take only the arguments you need.

Plugin scope: all hooks may be implemented by any plugin.  Builtins register
through the same entry points and use ``trylast=True`` on provider hooks so
that any third-party provider takes precedence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._markers import async_hook, hookspec

if TYPE_CHECKING:
    import pluggy

    from ._contributions import (
        CodecSpec,
        ComponentOptionsSpec,
        InstrumentSpec,
        Invocation,
        OperatorSpec,
        PreValidatorSpec,
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
        MessageBus,
        PitPort,
        PoolManagerPort,
        PreValidationPort,
        StaleManagerPort,
        TextEditingPort,
    )


# ---------------------------------------------------------------------------
# Setup and lifecycle: called once each, in this order:
# symphony_addhooks -> symphony_configure -> symphony_components ->
# (components start) -> symphony_startup ... symphony_shutdown -> (components stop)
# ---------------------------------------------------------------------------


@hookspec(historic=True)
def symphony_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Add new hookspecs (``pluginmanager.add_hookspecs(module)``) for other plugins to implement.

    Called when the plugin is registered, before any other hook.

    :param pluginmanager: the host's pluggy manager.

    .. versionadded:: 1.0
    """


@hookspec
def symphony_configure(context: HostContext) -> None:
    """React to the final settings, after every plugin is registered and before components start.

    A plugin registered later through ``Host.register`` is configured at
    once.  Must not do I/O that can block for long; start work in a
    component instead.

    :param context: the host as plugins see it (settings, ports, events).
    :raises ConfigurationError: when the plugin's settings are unusable; the
        plugin is then reported as failed and the host continues without it.

    .. versionadded:: 1.0
    """


@hookspec
def symphony_components(context: HostContext) -> list[AsyncComponent]:
    """Contribute long-lived components with ``start``/``stop``/``health_check``.

    The host starts all components in dependency order (``depends_on``) and
    stops them in reverse.  A component whose start raises is stopped, reported
    with its plugin, and the components that depend on it are not started.

    :param context: the host as plugins see it.
    :returns: the plugin's components (an empty list for none).

    .. versionadded:: 1.0
    """
    raise NotImplementedError


@async_hook("concurrent")
@hookspec
async def symphony_startup(context: HostContext) -> None:
    """Run once after every component has started; implementations may be ``async``.

    All implementations run concurrently under the host's hook timeout.

    :param context: the host as plugins see it.
    :raises Exception: any error is reported with the plugin's name and does
        not stop the host.

    .. versionadded:: 1.0
    """


@async_hook("concurrent")
@hookspec
async def symphony_shutdown(context: HostContext) -> None:
    """Run once before components stop; implementations may be ``async``.

    :param context: the host as plugins see it.

    .. versionadded:: 1.0
    """


# ---------------------------------------------------------------------------
# Port providers.  firstresult: stops at the first non-None result.
# Must be cheap and free of side effects: return an object, start nothing
# (contribute a component for that).  Return None to decline.  Two plugins
# returning a provider at the same priority is a ProviderConflictError unless
# the setting ``ports.<port> = "<plugin>"`` picks one.
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def symphony_provide_text_editing(context: HostContext) -> TextEditingPort | None:
    """Provide the buffers the editor bridge edits (port ``text_editing``).

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_provide_pit(context: HostContext) -> PitPort | None:
    """Provide the Pit facade over pool, DAG tracker and artifacts (port ``pit``).

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_provide_pool_manager(context: HostContext) -> PoolManagerPort | None:
    """Provide model allocation and pre-warming (port ``pool_manager``).

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_provide_dag_tracker(context: HostContext) -> DagTrackerPort | None:
    """Provide workflow execution with checkpoints (port ``dag_tracker``).

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_provide_artifact_store(context: HostContext) -> ArtifactStorePort | None:
    """Provide content-addressed artifact storage (port ``artifact_store``).

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_provide_arbitration_engine(context: HostContext) -> ArbitrationEnginePort | None:
    """Provide resource arbitration between competing nodes (port ``arbitration_engine``).

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_provide_stale_manager(context: HostContext) -> StaleManagerPort | None:
    """Provide staleness tracking and reclamation of artifacts (port ``stale_manager``).

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_provide_extension_runtime(context: HostContext) -> ExtensionPort | None:
    """Provide loading and sandboxed invocation of extensions (port ``extension_runtime``).

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_provide_conductor(context: HostContext) -> ConductorPort | None:
    """Provide workflow orchestration, in-process or as a subprocess (port ``conductor``).

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_provide_data_access(context: HostContext) -> DataAccessPort | None:
    """Provide persistence of workflows and users (port ``data_access``).

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_provide_pre_validation(context: HostContext) -> PreValidationPort | None:
    """Provide the fast technical checks run before requests (port ``pre_validation``).

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_provide_message_bus(context: HostContext) -> MessageBus | None:
    """Provide routing, request/response and pub/sub of envelopes (port ``message_bus``).

    .. versionadded:: 1.0
    """


# ---------------------------------------------------------------------------
# Contributions: broadcast; every implementation's list is collected.
# Names must be unique per kind across plugins.
# ---------------------------------------------------------------------------


@hookspec
def symphony_instruments(context: HostContext) -> list[InstrumentSpec]:
    """Contribute instruments (AI model calls) usable as workflow nodes.

    :returns: the plugin's instruments, each with typed inputs and outputs.

    .. versionadded:: 1.0
    """
    raise NotImplementedError


@hookspec
def symphony_operators(context: HostContext) -> list[OperatorSpec]:
    """Contribute operators (utilities) usable as workflow nodes.

    :returns: the plugin's operators, each with typed inputs and outputs.

    .. versionadded:: 1.0
    """
    raise NotImplementedError


@hookspec
def symphony_transports(context: HostContext) -> list[TransportSpec]:
    """Contribute transport kinds the bus and the sandbox can use.

    .. versionadded:: 1.0
    """
    raise NotImplementedError


@hookspec
def symphony_codecs(context: HostContext) -> list[CodecSpec]:
    """Contribute envelope codecs, negotiated per connection by content type.

    .. versionadded:: 1.0
    """
    raise NotImplementedError


@hookspec
def symphony_pre_validators(context: HostContext) -> list[PreValidatorSpec]:
    """Contribute fast technical checks run by the pre-validation port.

    .. versionadded:: 1.0
    """
    raise NotImplementedError


@hookspec
def symphony_workflow_checks(context: HostContext) -> list[WorkflowCheck]:
    """Contribute validation stages added to every workflow report.

    Each ``WorkflowCheck.check(workflow)`` returns ``WorkflowProblem``s; they
    follow the builtin stages in the report (``symphony workflow validate``,
    ``symphony run``).  The host's extensions plugin contributes
    ``permissions``: every node whose extension would be denied.

    .. versionadded:: 1.0
    """
    raise NotImplementedError


@hookspec
def symphony_component_options(context: HostContext) -> list[ComponentOptionsSpec]:
    """Declare the type of a component's ``options`` (its ``name`` is the settings section).

    The host checks ``[components.<name>.options]`` against it right after
    plugins register, so an unknown or invalid key is a settings error naming
    the full key (with the closest valid one) rather than a failure at first use.

    .. versionadded:: 1.0
    """
    raise NotImplementedError


@hookspec
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    """Add subcommands to the ``symphony`` command line.

    Called when the CLI first needs a command it does not know (or lists them
    all), after the host has loaded.

    :param cli: a ``click.Group`` collecting this invocation's commands (they
        become top-level ``symphony`` commands); call ``cli.add_command(...)``.
        Raise ``click.ClickException`` for user errors so that no traceback
        is shown.
    :param context: the host as plugins see it, for commands to use when run.

    .. versionadded:: 1.0
    """


@hookspec
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    """Contribute health checks, run by ``Host.health()`` and ``symphony doctor``.

    A check that raises or times out is reported as failed, naming the plugin.

    .. versionadded:: 1.0
    """
    raise NotImplementedError


# ---------------------------------------------------------------------------
# Events and cross-cutting wrappers
# ---------------------------------------------------------------------------


@hookspec
def symphony_event(event: Event, context: HostContext) -> None:
    """Observe a state change (host, plugin, component, run and node events).

    Called synchronously where the change happens; keep it fast and hand
    slow work to a task.  An implementation that raises is logged and does
    not affect the emitter.  The builtin message bus republishes every event
    on its own topic, so bus subscribers (and other hosts, through a bridge)
    see them too; implementations may omit ``context``.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def symphony_invoke(invocation: Invocation) -> Any:
    """Perform one invocation of an instrument, operator or extension.

    The host's own implementation calls ``invocation.call``; plugins implement
    this hook with ``@hookimpl(wrapper=True)`` to run code around every
    invocation (metrics, audit, permission checks) and ``yield`` to proceed.

    :returns: what the invocation returned (for async targets, an awaitable).

    .. versionadded:: 1.0
    """
