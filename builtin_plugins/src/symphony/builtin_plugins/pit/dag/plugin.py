"""Registers the DAG tracker as the ``dag_tracker`` port, and ``symphony run`` / ``symphony runs``.

Settings: ``[components.dag]`` — ``retry_policy`` is every node's default retry
policy, ``options`` are :class:`~.options.TrackerOptions` (database, max_concurrency,
limits, synchronous, inline_limit, executor, dask, lookahead, user, priority).  ``executor = "dask"``
runs node work on a Dask cluster (:mod:`.distributed`, imported only then).  Node implementations are
resolved from the installed ``symphony_operators`` and ``symphony_instruments`` contributions.  When
provided, the ``arbitration_engine`` port admits each node attempt and the ``pool_manager`` port is
prewarmed from the lookahead; both are asked for only when a run first needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from symphony.hookspecs import (
    ComponentOptionsSpec,
    ConfigurationError,
    PortUnavailableError,
    StaleSource,
    ValidationReport,
    Workflow,
    hookimpl,
)
from symphony.hookspecs.ports import (
    ArbitrationEnginePort,
    ArtifactStorePort,
    DagTrackerPort,
    HostContext,
    PoolManagerPort,
    port_as,
)

from ...workflow.plugin import limits_of
from .options import TrackerOptions

if TYPE_CHECKING:  # the tracker and its executor (asyncio) are imported when a run needs them
    import click

    from symphony.hookspecs.ports import DataAccessPort

    from .executor import Executor
    from .nodes import Implementations
    from .tracker import DagTracker

SYMPHONY_API = "^1.0"

COMPONENT = "dag"


def implementations_of(context: HostContext) -> Implementations:
    """Every installed instrument and operator, by the name nodes ``use``."""
    from .nodes import Implementations  # with the conditions' parser (~3 ms): not for every command

    return Implementations(
        operators=context.contributions("symphony_operators"),
        instruments=context.contributions("symphony_instruments"),
        checks=context.contributions("symphony_workflow_checks"),
        invoke=context.invoke,
    )


def executor_for(options: TrackerOptions) -> Executor | None:
    """The executor ``options.executor`` names (None: the tracker's default, local one)."""
    if options.executor == "local":
        return None
    try:
        from .distributed import DaskExecutor
    except ImportError as error:
        if (error.name or "").partition(".")[0] not in ("dask", "distributed", "cloudpickle"):
            raise
        raise ConfigurationError(
            f'components.dag.options.executor = "dask" needs Dask distributed, which is not installed ({error}).'
            " Install it with: pip install 'symphony-builtins[dask]'"
        ) from None
    return DaskExecutor(options.dask)


def tracker_for(context: HostContext) -> DagTracker:
    """A tracker over this host's contributions, settings, data service, data directory and events."""
    from .tracker import DagTracker

    config = context.component_config(COMPONENT)
    options = TrackerOptions.from_options(config.options)

    try:
        context.port("artifact_store")
    except PortUnavailableError:
        artifacts = None  # outputs of any size stay in the checkpoint
    else:
        artifacts = port_as(context, "artifact_store", ArtifactStorePort, user="The DAG tracker")
    return DagTracker(
        lambda: implementations_of(context),
        records=lambda: records_port(context),
        log_dir=context.data_dir / "runs",
        options=options,
        retry=config.retry_policy,
        executor=executor_for(options),
        artifacts=artifacts,
        emit=context.emit,
        limits=limits_of(context),
        arbitration=lambda: optional_port(context, "arbitration_engine", ArbitrationEnginePort),
        pool=lambda: optional_port(context, "pool_manager", PoolManagerPort),
    )


def records_port(context: HostContext) -> DataAccessPort | None:
    """The data service that keeps the runs (None: nothing provides ``data_access``, runs are not recorded)."""
    try:
        port: DataAccessPort = context.port("data_access")
    except PortUnavailableError:
        return None
    return port


def optional_port(context: HostContext, name: Any, protocol: type[object]) -> Any:
    """The provider of port ``name`` checked against ``protocol``, or None when nothing provides it."""
    try:
        context.port(name)
    except PortUnavailableError:
        return None
    return port_as(context, name, protocol, user="The DAG tracker")


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name=COMPONENT, options=TrackerOptions)]


@hookimpl(trylast=True)
def symphony_provide_dag_tracker(context: HostContext) -> DagTracker:
    return tracker_for(context)


@hookimpl
def symphony_stale_sources(context: HostContext) -> list[StaleSource]:
    from .stale import dag_stale_sources

    return dag_stale_sources(context)


def port_of(context: HostContext, user: str) -> DagTrackerPort:
    """Whichever tracker serves ``dag_tracker``, checked to offer the whole port."""
    port: DagTrackerPort = port_as(context, "dag_tracker", DagTrackerPort, user=user)
    return port


def records_of(context: HostContext) -> DagTracker:
    """The builtin tracker serving ``dag_tracker``, whose run records ``runs list|show`` read."""
    from .tracker import DagTracker

    port = context.port("dag_tracker")
    if not isinstance(port, DagTracker):
        raise PortUnavailableError(
            f"`symphony runs list|show` read the run records of the builtin DAG tracker (plugin 'dag'), but port"
            f" 'dag_tracker' is served by plugin {context.port_provider('dag_tracker')!r} ({type(port).__name__}),"
            " which keeps its own: ask it with `symphony runs resume|cancel RUN_ID`, or unset ports.dag_tracker."
        )
    return port


def check_of(context: HostContext, workflow: Workflow) -> ValidationReport:
    """``workflow`` validated against the installed contributions, whichever tracker will run it."""
    from ...workflow.validate import validate

    return validate(workflow, implementations_of(context).catalogue(), limits_of(context)).report()


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from symphony.hookspecs.commands import lazy_command

    def run() -> click.Command:  # the CLI imports the run history: SQLAlchemy
        from .cli import run_command

        return run_command(lambda: port_of(context, "`symphony run`"), lambda workflow: check_of(context, workflow))

    def runs() -> click.Command:
        from .cli import runs_commands

        return runs_commands(lambda: port_of(context, "`symphony runs`"), lambda: records_of(context))

    help_ = "Run the workflow FILE with a progress display, then print its outputs."
    cli.add_command(lazy_command("run", run, help=help_))
    cli.add_command(lazy_command("runs", runs, help="List, inspect, resume, retry and cancel workflow runs."))
