"""Registers the DAG tracker as the ``dag_tracker`` port, and ``symphony run`` / ``symphony runs``.

Settings: ``[components.dag]`` — ``retry_policy`` is every node's default retry
policy, ``options`` are :class:`~.options.TrackerOptions` (database, max_concurrency,
limits, synchronous, inline_limit, executor, dask).  ``executor = "dask"`` runs node work
on a Dask cluster (:mod:`.distributed`, imported only then).  Node implementations are resolved from the
installed ``symphony_operators`` and ``symphony_instruments`` contributions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from symphony.hookspecs import ConfigurationError, PortUnavailableError, hookimpl
from symphony.hookspecs.ports import HostContext

from ...workflow.plugin import limits_of
from .executor import Executor
from .nodes import Implementations
from .options import TrackerOptions

if TYPE_CHECKING:  # the tracker (and SQLAlchemy under it) is imported when a run needs it
    from .checkpoints import CheckpointStore
    from .tracker import DagTracker

SYMPHONY_API = "^1.0"

COMPONENT = "dag"


def implementations_of(context: HostContext) -> Implementations:
    """Every installed instrument and operator, by the name nodes ``use``."""
    return Implementations(
        operators=context.contributions("symphony_operators"),
        instruments=context.contributions("symphony_instruments"),
        checks=context.contributions("symphony_workflow_checks"),
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
    """A tracker over this host's contributions, settings, data directory and events."""
    from .checkpoints import CheckpointStore
    from .tracker import DagTracker

    config = context.component_config(COMPONENT)
    options = TrackerOptions.from_options(config.options)
    database = context.data_dir / options.database

    def store() -> CheckpointStore:
        return CheckpointStore(database, synchronous=options.synchronous)

    try:
        artifacts = context.port("artifact_store")
    except PortUnavailableError:
        artifacts = None
    return DagTracker(
        lambda: implementations_of(context),
        store=store,
        options=options,
        retry=config.retry_policy,
        executor=executor_for(options),
        artifacts=artifacts,
        emit=context.emit,
        limits=limits_of(context),
    )


@hookimpl(trylast=True)
def symphony_provide_dag_tracker(context: HostContext) -> DagTracker:
    return tracker_for(context)


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from .cli import run_command, runs_commands

    def tracker() -> DagTracker:
        from .tracker import DagTracker

        port = context.port("dag_tracker")
        if not isinstance(port, DagTracker):
            raise PortUnavailableError(
                f"`symphony run` needs the builtin DAG tracker, but dag_tracker is served by {type(port).__name__};"
                " unset ports.dag_tracker to use it."
            )
        return port

    cli.add_command(run_command(tracker), "run")
    cli.add_command(runs_commands(tracker), "runs")
