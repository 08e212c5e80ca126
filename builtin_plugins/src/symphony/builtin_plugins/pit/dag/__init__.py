"""The DAG tracker (seed M3.2): scheduler, executor, checkpoints, recovery, metrics, cache.

- :mod:`.scheduler`: which nodes are ready or skipped (pure, no I/O);
- :mod:`.executor`: the :class:`Executor` seam and the local async one;
- :mod:`.checkpoints`: runs, node results and the cache in SQLite (WAL);
- :mod:`.recovery`: retry categories and the failure report;
- :mod:`.metrics`, :mod:`.cache`, :mod:`.options`;
- :mod:`.run`: one run's loop; :mod:`.tracker`: the ``dag_tracker`` port;
- :mod:`.cli` and :mod:`.plugin`: ``symphony run`` / ``symphony runs``.

See docs/runs.md for the semantics.
"""

from .checkpoints import CheckpointStore
from .executor import Executor, LocalExecutor, NodeTask
from .metrics import NodeMetrics, RunMetrics
from .nodes import Implementations
from .options import NodeOptions, TrackerOptions
from .recovery import NodeFailure
from .run import RunResult
from .scheduler import Plan, Scheduler
from .tracker import DagTracker, RunInvalidError

__all__ = [
    "CheckpointStore",
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
