"""The DAG tracker (seed M3.2): scheduler, executor, checkpoints, recovery, metrics, cache.

- :mod:`.scheduler`: which nodes are ready or skipped (pure, no I/O);
- :mod:`.executor`: the :class:`Executor` seam and the local async one;
- :mod:`.recovery`: retry categories and the failure report;
- :mod:`.metrics`, :mod:`.cache`, :mod:`.options`;
- :mod:`.run`: one run's loop, checkpointing through the data service (port ``data_access``);
- :mod:`.tracker`: the ``dag_tracker`` port, its runs recorded by the data service;
- :mod:`.cli` and :mod:`.plugin`: ``symphony run`` / ``symphony runs``.

See docs/runs.md for the semantics.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .executor import Executor, LocalExecutor, NodeTask
    from .metrics import NodeMetrics, RunMetrics
    from .nodes import Implementations
    from .options import NodeOptions, TrackerOptions
    from .recovery import NodeFailure
    from .run import RunResult
    from .scheduler import Plan, Scheduler
    from .tracker import DagTracker, RunInvalidError

#: Public names and the module each comes from, imported on first use: loading the
#: plugin (every CLI command does) must not pay for the tracker until a run needs it.
_WHERE = {
    "Executor": "executor",
    "LocalExecutor": "executor",
    "NodeTask": "executor",
    "NodeMetrics": "metrics",
    "RunMetrics": "metrics",
    "Implementations": "nodes",
    "NodeOptions": "options",
    "TrackerOptions": "options",
    "NodeFailure": "recovery",
    "RunResult": "run",
    "Plan": "scheduler",
    "Scheduler": "scheduler",
    "DagTracker": "tracker",
    "RunInvalidError": "tracker",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DagTracker",
    "Executor",
    "Implementations",
    "LocalExecutor",
    "NodeFailure",
    "NodeMetrics",
    "NodeOptions",
    "NodeTask",
    "Plan",
    "RunInvalidError",
    "RunMetrics",
    "RunResult",
    "Scheduler",
    "TrackerOptions",
]
