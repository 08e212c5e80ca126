"""Run options: the tracker's (``[components.dag]``) and each node's (``config.run``).

A node's ``config.run`` table is reserved for the tracker: it is stripped before
the node's ``config`` reaches the operator's factory and before the cache key is
computed, so retry or cache settings never change what a node computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

import msgspec

from symphony.hookspecs import ConfigurationError, RetryPolicy, ValidationError

__all__ = [
    "DEFAULT_RETRY_ON",
    "RUN_KEY",
    "DaskOptions",
    "NodeOptions",
    "TrackerOptions",
    "node_options",
    "split_config",
]

#: The key of a node's config that holds its run options.
RUN_KEY: Final = "run"
#: Error categories retried unless a node says otherwise (see recovery.category_of).
DEFAULT_RETRY_ON: Final = ("timeout", "connection", "data.network", "ipc.transport")


class DaskOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[components.dag.options.dask]``: the cluster the ``dask`` executor sends node work to."""

    #: ``"local"`` starts a LocalCluster on loopback for the tracker's lifetime; otherwise the
    #: address of a running scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    scheduler: str = "local"
    #: LocalCluster only: how many workers, and threads in each.
    workers: Annotated[int, msgspec.Meta(ge=1)] = 2
    threads_per_worker: Annotated[int, msgspec.Meta(ge=1)] = 1
    #: LocalCluster only: workers are processes (true: CPU-bound nodes run in parallel) or threads of this one.
    processes: bool = True
    #: Seconds to wait for the scheduler when connecting.
    connect_timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    #: Contributions (``uses`` names) that stay in the tracker's process, e.g. sandboxed extension nodes.
    local: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scheduler != "local" and not self.scheduler.strip():
            raise ValueError('scheduler must be "local" or a scheduler address such as "tcp://127.0.0.1:8786"')


class TrackerOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[components.dag.options]``: how many nodes run at once, where node work runs, what it asks for.

    Runs are kept by the data service (``[components.data]``), not here.
    """

    #: Nodes running at once in one run.
    max_concurrency: Annotated[int, msgspec.Meta(ge=1)] = 16
    #: Nodes running at once per instrument/operator name, e.g. ``{chat = 2}``.
    limits: dict[str, Annotated[int, msgspec.Meta(ge=1)]] = msgspec.field(default_factory=dict)
    #: Outputs larger than this (encoded bytes) go to the artifact store; the checkpoint keeps the id.
    #: At most 512 KiB: a checkpoint travels to the data service in one request, bounded at 1 MiB.
    inline_limit: Annotated[int, msgspec.Meta(ge=0, le=524_288)] = 65_536
    #: Where node work runs: "local" (this process, see executor.py) or "dask" (a Dask cluster).
    executor: Literal["local", "dask"] = "local"
    #: The cluster of the ``dask`` executor.
    dask: DaskOptions = msgspec.field(default_factory=DaskOptions)
    #: Levels of the workflow ahead of the running ones whose instruments' models are prewarmed (0: none).
    lookahead: Annotated[int, msgspec.Meta(ge=0)] = 2
    #: Whom the arbitration engine counts runs against (fair share, quotas); none: the OS user's name.
    user: str | None = None
    #: Arbitration priority of every node without its own ``config.run.priority``.
    priority: int = 0
    #: Retired: runs were kept in their own SQLite file; the data service keeps them now. Setting either is an error.
    database: str | None = None
    synchronous: str | None = None

    def __post_init__(self) -> None:
        retired = [name for name in ("database", "synchronous") if getattr(self, name) is not None]
        if retired:
            keys = " and ".join(f"components.dag.options.{name}" for name in retired)
            verb, them = ("applies", "it") if len(retired) == 1 else ("apply", "them")
            raise ValueError(
                f"{keys} no longer {verb}: runs are kept by the data service ([components.data]), which decides"
                f" where and how durably; remove {them}. Runs of an old run database are brought over with"
                " `symphony data import-runs PATH` (<data_dir>/runs.db is imported automatically); see docs/runs.md"
            )

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> TrackerOptions:
        try:
            return msgspec.convert(dict(options), cls)
        except msgspec.ValidationError as error:
            where = str(error).replace("`$.", "`components.dag.options.").replace("`$`", "`components.dag.options`")
            raise ConfigurationError(f"Invalid DAG tracker options: {where}.") from None


class NodeOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A node's ``config.run``: retries, timeout, caching and what it asks the arbitration engine for."""

    attempts: Annotated[int, msgspec.Meta(ge=1)] | None = None
    backoff: Annotated[float, msgspec.Meta(ge=0)] | None = None
    backoff_multiplier: Annotated[float, msgspec.Meta(ge=1)] | None = None
    backoff_max: Annotated[float, msgspec.Meta(ge=0)] | None = None
    #: Error categories (or exception class names, or "*") that are worth another attempt.
    retry_on: tuple[str, ...] = DEFAULT_RETRY_ON
    #: Seconds one attempt may take; none means no limit.
    timeout: Annotated[float, msgspec.Meta(gt=0)] | None = None
    #: Reuse the outputs of an earlier successful execution with the same cache key.
    cache: bool = False
    #: What one attempt needs from the arbitration engine besides its slot, e.g. ``{memory = 2e9}``.
    resources: dict[str, float] = msgspec.field(default_factory=dict)
    #: Arbitration priority (higher first); none: the tracker's ``priority``.
    priority: int | None = None
    #: The engine may take the slot back for a higher priority: the attempt is cancelled and queued again.
    preemptible: bool = False
    #: Seconds to wait for the resources before the node fails; none: the engine's setting.
    queue_timeout: Annotated[float, msgspec.Meta(gt=0)] | None = None

    def __post_init__(self) -> None:
        for name, amount in self.resources.items():
            if not name or amount < 0:
                raise ValueError(f"resources.{name or '<empty>'} = {amount:g}: give a resource name and an amount >= 0")

    def policy(self, default: RetryPolicy) -> RetryPolicy:
        """The retry policy: this node's values over the component's."""
        return RetryPolicy(
            max_attempts=self.attempts if self.attempts is not None else default.max_attempts,
            backoff_initial=self.backoff if self.backoff is not None else default.backoff_initial,
            backoff_multiplier=(
                self.backoff_multiplier if self.backoff_multiplier is not None else default.backoff_multiplier
            ),
            backoff_max=self.backoff_max if self.backoff_max is not None else default.backoff_max,
        )


_DEFAULT_NODE: Final = NodeOptions()


def split_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """``config`` without ``run``, and the ``run`` value (None when absent)."""
    if RUN_KEY not in config:
        return dict(config), None
    rest = {key: value for key, value in config.items() if key != RUN_KEY}
    return rest, config[RUN_KEY]


def node_options(node_id: str, run: Any) -> NodeOptions:
    """Parse a node's ``config.run``; a bad value says which node and key, and what is expected."""
    if run is None:
        return _DEFAULT_NODE
    try:
        return msgspec.convert(run, NodeOptions)
    except msgspec.ValidationError as error:
        where = (
            str(error).replace("`$.", f"`nodes.{node_id}.config.run.").replace("`$`", f"`nodes.{node_id}.config.run`")
        )
        raise ValidationError(f"Invalid run options of node {node_id!r}: {where}. See docs/runs.md.") from None
